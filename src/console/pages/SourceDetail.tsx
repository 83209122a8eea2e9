export function SourcePage({ name }: { name: string }) {
  return <div className="page"><h1>Coming soon</h1></div>;
}
