import { X509Certificate } from "node:crypto";
import forge from "node-forge";
import { describe, expect, it } from "vitest";
import { certificateSerial, rsaPrivatePem } from "../../src/emulator/tls.js";

// OpenSSL 3 refuses a certificate whose serial is a non-minimal DER INTEGER ("illegal padding"):
// with random serials that was about one emulator start in 256.
describe("certificateSerial", () => {
  it.each([
    ["a zero first byte", [0x00, 0x01]],
    ["a zero first byte before a high one", [0x00, 0x80]],
    ["a high first byte", [0xff, 0x00]],
    ["zeros only", [0x00, 0x00]],
  ])("gives a serial OpenSSL accepts from %s", async (_label, start) => {
    const random = Buffer.alloc(16);
    Buffer.from(start).copy(random);
    const serial = certificateSerial(random);

    const priv = forge.pki.privateKeyFromPem(await rsaPrivatePem(1024)) as forge.pki.rsa.PrivateKey;
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
    cert.serialNumber = serial;
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 3600_000);
    cert.setSubject([{ name: "commonName", value: "serial test" }]);
    cert.setIssuer([{ name: "commonName", value: "serial test" }]);
    cert.sign(priv, forge.md.sha256.create());

    const parsed = new X509Certificate(forge.pki.certificateToPem(cert));
    expect(parsed.serialNumber.toLowerCase()).toBe(serial);
  });
});
