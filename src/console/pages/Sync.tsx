export function SyncPage() {
  return <div className="page"><h1>Coming soon</h1></div>;
}
export interface SourceSummary { name: string }
