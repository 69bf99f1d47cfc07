"use client";

export { default } from "@/components/RouteError";
