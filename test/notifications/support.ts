import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { SMTPServer } from "smtp-server";

/** A local SMTP server (the smtp-server package) that keeps every message it receives. */
export interface Mailbox {
  url: string;
  messages: { to: string[]; raw: string; subject: string; messageId: string }[];
  close(): Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const messages: Mailbox["messages"] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => (raw += chunk.toString()));
      stream.on("end", () => {
        const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ");
        const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(head)?.[1]?.trim() ?? "";
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, subject: header("Subject"), messageId: header("Message-ID") });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A webhook receiver answering with the given statuses in turn (then 200). */
export interface WebhookReceiver {
  url: string;
  requests: { status: number; body: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** Answers each request with the next of `statuses` (then 200), with `headers` (a redirect's location, say). */
/** `holdUntil`: answer nobody until that many requests have arrived (a sender posting one at a time never gets there). */
export async function startWebhookReceiver(statuses: number[] = [], headers: Record<string, string> = {}, options: { holdUntil?: number } = {}): Promise<WebhookReceiver> {
  const requests: WebhookReceiver["requests"] = [];
  const queue = [...statuses];
  const held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const status = queue.shift() ?? 200;
      requests.push({ status, body, headers: req.headers });
      held.push(() => res.writeHead(status, { ...headers, connection: "close" }).end());
      if (held.length >= (options.holdUntil ?? 1)) for (const answer of held.splice(0)) answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/rollcall`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
