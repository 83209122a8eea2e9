export function bundledCli(root?: string): Promise<string | null>;
