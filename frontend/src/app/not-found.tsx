import Link from "next/link";

export default function NotFound() {
  return (
    <main id="main">
      <h1>Not found</h1>
      <p>
        That page does not exist or is not yours. <Link href="/dashboard">Back to the dashboard</Link>
      </p>
    </main>
  );
}
