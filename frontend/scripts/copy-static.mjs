// The standalone server does not include static assets; Next's docs ask to copy them beside it.
import { cpSync, existsSync } from "node:fs";

const standalone = ".next/standalone";
if (!existsSync(standalone)) {
  console.error("copy-static: .next/standalone is missing; is output: 'standalone' set in next.config.ts?");
  process.exit(1);
}
cpSync(".next/static", `${standalone}/.next/static`, { recursive: true });
if (existsSync("public")) cpSync("public", `${standalone}/public`, { recursive: true });
