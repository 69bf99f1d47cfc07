import type { Metadata } from "next";
import { headers } from "next/headers";
import HydrationMarker from "@/components/HydrationMarker";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Blog Creator", template: "%s · Blog Creator" },
  description: "Turn your documents into blog drafts.",
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Reading the request makes every page dynamic, which the per-request CSP nonce requires.
  await headers();
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        {children}
        <HydrationMarker />
      </body>
    </html>
  );
}
