import Loading from "@/components/Loading";

export default function RouteLoading() {
  return <Loading />;
}
