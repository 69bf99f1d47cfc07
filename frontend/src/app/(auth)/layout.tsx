export default function AuthLayout({ children }: { children: React.ReactNode }) {
  return (
    <main id="main" className="auth-main">
      <p className="brand">Blog Creator</p>
      {children}
    </main>
  );
}
