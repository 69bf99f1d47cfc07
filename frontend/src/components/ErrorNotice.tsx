export default function ErrorNotice({ message }: { message: string }) {
  return (
    <div role="alert" className="alert error">
      {message}
    </div>
  );
}
