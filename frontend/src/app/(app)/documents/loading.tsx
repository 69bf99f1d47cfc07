export { default } from "@/components/Loading";
