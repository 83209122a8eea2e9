// esbuild (the CLI's bundle) and tsx both inline the JSON: the version is read from package.json alone.
import packageJson from "../package.json" with { type: "json" };

export const version: string = packageJson.version;
