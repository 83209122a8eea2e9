// The emulator's TLS: a private CA created once per data directory (ca.pem + ca-key.pem, reused on
// later starts so clients can trust it permanently) and a server certificate for localhost/127.0.0.1
// signed by it (server.pem + server-key.pem, reused while it fits, as a restarted server keeps its
// certificate). Keys come from node:crypto (fast, native) and are converted for node-forge, which only
// builds and signs the X.509 structures.
import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

export interface TlsMaterial {
  caFile: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const genRsa = promisify(generateKeyPair);

/** RSA private key PEM (PKCS#1), generated on libuv's thread pool so several run in parallel. */
export async function rsaPrivatePem(bits = 2048): Promise<string> {
  const { privateKey } = await genRsa("rsa", { modulusLength: bits });
  return privateKey.export({ type: "pkcs1", format: "pem" }).toString();
}

function rsaKeyPair(privatePem: string): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privatePem: string } {
  const priv = forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e) as forge.pki.rsa.PublicKey;
  return { publicKey: pub, privateKey: priv, privatePem };
}

/**
 * A certificate serial number as hex. DER wants a minimal INTEGER: a leading 0x00 byte followed by
 * one below 0x80 is "illegal padding" to OpenSSL 3, which then refuses the certificate. Forcing the
 * top byte into 0x40-0x7f keeps it positive, non-zero and minimal whatever the random bytes are.
 */
export function certificateSerial(random: Buffer = randomBytes(16)): string {
  const b = Buffer.from(random);
  b[0] = 0x40 | ((b[0] ?? 0) & 0x3f);
  return b.toString("hex");
}

function createCa(keyPem: string): { certPem: string; keyPem: string } {
  const keys = rsaKeyPair(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = certificateSerial();
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600_000);
  const attrs = [
    { name: "commonName", value: "Rollcall Entra ID Emulator Local CA" },
    { name: "organizationName", value: "Rollcall (local testing only)" },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function issueServerCert(caCertPem: string, caKeyPem: string, serverKeyPem: string, extraHosts: string[]): { certPem: string; keyPem: string } {
  const ca = forge.pki.certificateFromPem(caCertPem);
  const caKey = forge.pki.privateKeyFromPem(caKeyPem);
  const keys = rsaKeyPair(serverKeyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = certificateSerial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: "localhost" }]);
  cert.setIssuer(ca.subject.attributes);
  const altNames: Array<{ type: number; value?: string; ip?: string }> = [
    { type: 2, value: "localhost" },
    { type: 7, ip: "127.0.0.1" },
    { type: 7, ip: "::1" },
  ];
  for (const h of extraHosts) {
    if (h === "localhost" || h === "127.0.0.1" || h === "::1" || h === "0.0.0.0" || h === "::") continue;
    altNames.push(/^[\d.]+$/.test(h) || h.includes(":") ? { type: 7, ip: h } : { type: 2, value: h });
  }
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

/** Writes a kept file whole (a temporary file renamed): an emulator starting meanwhile never reads half of it. */
export function writeKeptFile(file: string, text: string, mode = 0o644): void {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, file);
}

/** The names a server certificate must cover: the loopback ones and each host listened on but a wildcard. */
function serverNames(hosts: string[]): string[] {
  return ["localhost", "127.0.0.1", "::1", ...hosts.filter((h) => h !== "0.0.0.0" && h !== "::")];
}

/** Whether a kept server certificate still serves: for this key, signed by this CA, naming every host, valid for another day. */
function fits(certPem: string, keyPem: string, caPem: string, hosts: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem)) || !cert.verify(new X509Certificate(caPem).publicKey)) return false;
    if (Date.parse(cert.validTo) < Date.now() + 24 * 3600_000) return false;
    return serverNames(hosts).every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined);
  } catch {
    return false;
  }
}

/** Load (or create on first use) the CA in `dir`, and the server certificate (issued anew if the kept one does not fit). */
export async function loadTls(dir: string, hosts: string[] = []): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true });
  const [caFile, caKeyFile, serverFile, serverKeyFile] = ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"].map((name) => join(dir, name)) as [string, string, string, string];
  let caPem: string;
  let caKeyPem: string;
  const haveCa = existsSync(caFile) && existsSync(caKeyFile);
  const haveServerKey = existsSync(serverKeyFile);
  const [newServerKey, newCaKey] = await Promise.all([haveServerKey ? "" : rsaPrivatePem(), haveCa ? "" : rsaPrivatePem()]);
  if (haveCa) {
    caPem = readFileSync(caFile, "utf8");
    caKeyPem = readFileSync(caKeyFile, "utf8");
  } else {
    const ca = createCa(newCaKey);
    caPem = ca.certPem;
    caKeyPem = ca.keyPem;
    writeKeptFile(caKeyFile, caKeyPem, 0o600);
    writeKeptFile(caFile, caPem);
  }
  const serverKey = haveServerKey ? readFileSync(serverKeyFile, "utf8") : newServerKey;
  if (!haveServerKey) writeKeptFile(serverKeyFile, serverKey, 0o600);
  const kept = existsSync(serverFile) ? readFileSync(serverFile, "utf8") : undefined;
  if (kept && fits(kept, serverKey, caPem, hosts)) return { caFile, caPem, certPem: kept, keyPem: serverKey };
  const server = issueServerCert(caPem, caKeyPem, serverKey, hosts);
  writeKeptFile(serverFile, server.certPem);
  return { caFile, caPem, certPem: server.certPem, keyPem: server.keyPem };
}

/** A self-signed certificate wrapping a signing key, for the JWKS `x5c`/`x5t` fields. */
export function selfSignedForKey(privatePem: string, cn: string): { der: Buffer } {
  const priv = forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
  cert.serialNumber = certificateSerial();
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 5 * 365 * 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  cert.setIssuer([{ name: "commonName", value: cn }]);
  cert.sign(priv, forge.md.sha256.create());
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return { der: Buffer.from(der, "binary") };
}
