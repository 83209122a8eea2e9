export function RunPage({ id }: { id: string }) {
  return <div className="page"><h1>Coming soon</h1></div>;
}
