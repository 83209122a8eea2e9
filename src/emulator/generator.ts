// Seeded directory data: people with names from several countries (some non-ASCII), local phone
// formats (and a few unparseable ones), guests, disabled accounts, users without mail, on-premises
// attributes (some extension attributes hold card numbers, as real directories sometimes do), and
// groups of every kind nested two levels deep with about three memberships per user.
import { Rng } from "./rng.ts";
import { blankGroup, blankUser } from "./blank-objects.ts";
import { generatedPhoto } from "./photos.ts";
import type { Tenant } from "./tenant.ts";
import type { GraphUser } from "./directory-types.ts";

interface Country { code: string; lang: string; cities: string[]; first: string[]; last: string[]; phone: (r: Rng) => string; mobile: (r: Rng) => string }

const COUNTRIES: Country[] = [
  { code: "US", lang: "en-US", cities: ["Seattle", "Austin", "New York", "Chicago"],
    first: ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "DeShawn", "Ana", "Kevin", "Emily", "David", "Linda",
      "Christopher", "Jessica", "Brian", "Ashley", "Marcus", "Samantha", "Tyler", "Megan", "Jamal", "Rosa", "Ethan", "Priya", "Daniel",
      "Hannah", "Andre", "Grace", "Carlos", "Olivia"],
    last: ["Smith", "Johnson", "Williams", "Brown", "García", "Miller", "Davis", "O'Connor", "Nguyen", "Lee", "Rodriguez", "Wilson",
      "Anderson", "Thomas", "Jackson", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "King", "Hernández", "Lopez", "Hill",
      "Scott", "Green", "Adams", "Baker", "Carter"],
    // Real area codes and exchanges: the 555-01xx "fictional" range is invalid to libphonenumber, and a
    // demo where a third of the numbers are dropped would show a sync warning on every other user. The
    // other countries' prefixes are likewise ranges libphonenumber holds valid (07700 and 07911 in GB,
    // 047x and 049x in AU, 0639 and 069x in FR, a 0 after JP's area code are not): only the UNPARSEABLE
    // numbers below should warn. Each draws as many random numbers as before, so the rest stays the same.
    phone: (r) => (r.chance(0.5) ? `+1 ${r.pick(usAreaCodes)} ${r.range(234, 899)} ${r.digits(4)}` : `(${r.pick(usAreaCodes)}) ${r.range(234, 899)}-${r.digits(4)}`),
    mobile: (r) => `+1 ${r.pick(usAreaCodes)} ${r.range(234, 899)} ${r.digits(4)}` },
  { code: "GB", lang: "en-GB", cities: ["London", "Manchester", "Edinburgh"],
    first: ["Oliver", "Amelia", "Harry", "Isla", "Siobhán", "Rhys", "Aoife", "George", "Charlotte", "Jack", "Poppy", "Alfie", "Freya",
      "Callum", "Imogen", "Ewan", "Niamh", "Arjun", "Eleanor", "Thomas", "Zara", "Hamish", "Florence", "Dylan"],
    last: ["Taylor", "Evans", "Wright", "Ó Briain", "Thompson", "Hughes", "Patel", "MacDonald", "Roberts", "Walker", "Wood", "Jones",
      "Davies", "Edwards", "Campbell", "Murphy", "Khan", "Clarke", "Morgan", "Stewart", "Bennett", "Shaw", "Fraser", "Price"],
    phone: (r) => (r.chance(0.5) ? `020 7${r.range(100, 999)} ${r.digits(4)}` : `+44 161 ${r.range(200, 999)} ${r.digits(4)}`),
    mobile: (r) => `07${r.pick(["400", "450", "500", "550", "800"])} ${r.digits(6)}` },
  { code: "DE", lang: "de-DE", cities: ["Berlin", "München", "Köln", "Hamburg"],
    first: ["Jürgen", "Lena", "Maximilian", "Sören", "Anja", "Lukas", "Käthe", "Felix", "Hannah", "Jonas", "Mia", "Leon", "Greta",
      "Tobias", "Marie", "Björn", "Sophie", "Niklas", "Ute", "Matthias"],
    last: ["Müller", "Schmidt", "Schröder", "Weiß", "Groß", "Becker", "Hoffmann", "Günther", "Schneider", "Fischer", "Wagner", "Koch",
      "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hartmann"],
    phone: (r) => (r.chance(0.5) ? `030 ${r.digits(7)}` : `+49 89 ${r.digits(6)}`),
    mobile: (r) => `0151 ${r.digits(8)}` },
  { code: "FR", lang: "fr-FR", cities: ["Paris", "Lyon", "Marseille"],
    first: ["Éloïse", "François", "Chloé", "Noël", "Amélie", "Théo", "Hélène", "Jérôme", "Camille", "Louis", "Manon", "Hugo", "Inès",
      "Mathis", "Léa", "Antoine", "Juliette", "Rémi"],
    last: ["Dubois", "Lefèvre", "Moreau", "Girard", "Bérenger", "Fontaine", "Lemaître", "Rousseau", "Martin", "Bernard", "Petit",
      "Durand", "Leroy", "Mercier", "Blanc", "Faure", "Chevalier", "Gauthier"],
    phone: (r) => (r.chance(0.5) ? `01 ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}` : `+33 4 ${r.pick(nonZero)}${r.digits(1)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`),
    mobile: (r) => `06 ${r.pick(["1", "2", "5"])}${r.digits(1)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}` },
  { code: "AU", lang: "en-AU", cities: ["Sydney", "Melbourne", "Brisbane"],
    first: ["Jack", "Charlotte", "Liam", "Mia", "Noah", "Matilda", "Cooper", "Ruby", "Lachlan", "Harper", "Riley", "Zoe", "Mason",
      "Chloe"],
    last: ["Wilson", "Martin", "Anderson", "White", "Kelly", "Ryan", "Nguyen", "Thompson", "Walsh", "Mitchell", "Campbell", "Brennan",
      "Tran", "Murray"],
    phone: (r) => (r.chance(0.5) ? `(02) 9${r.digits(3)} ${r.digits(4)}` : `+61 3 9${r.digits(3)} ${r.digits(4)}`),
    mobile: (r) => `04${r.pick(["0", "1", "2", "3"])}${r.digits(1)} ${r.digits(3)} ${r.digits(3)}` },
  { code: "ES", lang: "es-ES", cities: ["Madrid", "Barcelona"],
    first: ["José", "Lucía", "Íñigo", "Martín", "Begoña", "Sofía", "Javier", "Carmen", "Álvaro", "Paula", "Sergio", "Nerea", "Pablo",
      "Elena", "Raúl", "Marta"],
    last: ["Fernández", "López", "Martínez", "Núñez", "Peña", "Ibáñez", "García", "Sánchez", "Romero", "Navarro", "Ortega", "Castillo",
      "Delgado", "Molina", "Serrano", "Vázquez"],
    phone: (r) => `+34 91 ${r.digits(3)} ${r.digits(2)} ${r.digits(2)}`, mobile: (r) => `6${r.digits(2)} ${r.digits(3)} ${r.digits(3)}` },
  { code: "JP", lang: "ja-JP", cities: ["東京", "大阪"],
    first: ["Yūki", "Haruto", "さくら", "陽翔", "Ren", "Aoi", "Sōta", "Hina", "Kenji", "Yui", "Takumi", "Mei", "Daiki", "Akari"],
    last: ["Satō", "Suzuki", "高橋", "田中", "Watanabe", "Itō", "Yamamoto", "Nakamura", "小林", "Katō", "Yoshida", "Yamada", "Sasaki",
      "Matsumoto"],
    phone: (r) => `03-${r.pick(nonZero)}${r.digits(3)}-${r.digits(4)}`, mobile: (r) => `090-${r.pick(nonZero)}${r.digits(3)}-${r.digits(4)}` },
  { code: "PL", lang: "pl-PL", cities: ["Warszawa", "Kraków"],
    first: ["Łukasz", "Zofia", "Paweł", "Małgorzata", "Piotr", "Agnieszka", "Krzysztof", "Katarzyna", "Tomasz", "Ewa", "Michał",
      "Joanna", "Marek", "Magdalena", "Jakub", "Natalia"],
    last: ["Kowalski", "Wiśniewska", "Wójcik", "Zając", "Nowak", "Lewandowska", "Kamiński", "Dąbrowska", "Mazur", "Krawczyk",
      "Piotrowski", "Grabowska", "Pawlak", "Michalska", "Król", "Jabłoński"],
    phone: (r) => `+48 22 ${r.digits(3)} ${r.digits(2)} ${r.digits(2)}`, mobile: (r) => `+48 5${r.digits(2)} ${r.digits(3)} ${r.digits(3)}` },
];
const WEIGHTS = [0.34, 0.16, 0.14, 0.1, 0.08, 0.07, 0.05, 0.06];

const DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Operations", "Customer Support", "Research & Development", "IT", "Procurement", "Facilities"];
const TITLES = ["Engineer", "Senior Engineer", "Manager", "Director", "Analyst", "Specialist", "Coordinator", "Consultant", "Associate", "Lead", "Vice President", "Intern"];
const nonZero = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];
const usAreaCodes = ["206", "212", "303", "312", "415", "512", "617", "713"];
const UNPARSEABLE = ["ext. 4411", "n/a", "call reception", "12", "+", "555-CALL-NOW", "0000"];
const GUEST_DOMAINS = ["gmail.com", "outlook.com", "fabrikam.com", "partner.example", "yahoo.co.uk"];
const PROJECTS = ["Falcon", "Aurora", "Bluebird", "Cobalt", "Delta Works", "Evergreen", "Horizon", "Nimbus", "Orion", "Quartz"];

function pickCountry(r: Rng): Country {
  let x = r.next();
  for (let i = 0; i < COUNTRIES.length; i++) {
    x -= WEIGHTS[i] as number;
    if (x < 0) return COUNTRIES[i] as Country;
  }
  return COUNTRIES[0] as Country;
}

const foldCache = new Map<string, string>();
/** ASCII for mail local parts: strip accents, drop what is left that is not [a-z0-9]. */
export function asciiFold(s: string): string {
  let v = foldCache.get(s);
  if (v === undefined) {
    v = fold(s);
    foldCache.set(s, v);
  }
  return v;
}
function fold(s: string): string {
  return s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/ß/g, "ss").replace(/[łŁ]/g, "l").replace(/[øØ]/g, "o")
    .toLowerCase().replace(/[^a-z0-9]/g, "");
}

function luhnCardNumber(r: Rng): string {
  const digits = [4, ...Array.from({ length: 14 }, () => r.int(10))];
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = digits[14 - i] as number;
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  digits.push((10 - (sum % 10)) % 10);
  const s = digits.join("");
  return r.chance(0.5) ? s : `${s.slice(0, 4)} ${s.slice(4, 8)} ${s.slice(8, 12)} ${s.slice(12)}`;
}

function isoDate(r: Rng): string {
  const start = Date.UTC(2015, 0, 1);
  return new Date(start + r.int(9 * 365) * 86400_000 + r.int(86400) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * When the invitation was accepted (or sent, while pending) and with which identity provider: the home organization's
 * domain for a guest from another Entra organization, "MicrosoftAccount" for a personal Microsoft account, "mail" for
 * an email one-time passcode. The emulator gives a pending guest none: which provider signs them in is settled on redemption.
 * https://learn.microsoft.com/entra/external-id/user-properties (Identities, Invitation state)
 * https://learn.microsoft.com/graph/api/resources/objectidentity ("For guests from other Microsoft Entra organizations …")
 */
function guestRedemption(ext: string, state: string, created: string, roll: number): Record<string, unknown> {
  if (state !== "Accepted") return { externalUserStateChangeDateTime: created, identities: [] };
  const domain = ext.slice(ext.indexOf("@") + 1);
  const issuer = domain === "outlook.com" ? "MicrosoftAccount" : domain === "gmail.com" || domain === "yahoo.co.uk" ? "mail" : domain;
  const accepted = new Date(Date.parse(created) + (roll % 30) * 86400_000 + roll * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  return { externalUserStateChangeDateTime: accepted, identities: [{ signInType: "federated", issuer, issuerAssignedId: null }] };
}

export function generateUsers(tenant: Tenant, count: number, seed: number): void {
  const r = Rng.derive(seed, `users:${tenant.id}`);
  const localParts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const c = pickCountry(r);
    const given = r.pick(c.first);
    const sur = r.pick(c.last);
    const guest = r.chance(0.04);
    let base = `${asciiFold(given) || "user"}.${asciiFold(sur) || "x"}`;
    const n = localParts.get(base) ?? 0;
    localParts.set(base, n + 1);
    if (n > 0) base = `${base}${n + 1}`;
    const id = r.guid();
    let upn: string;
    let mail: string | null;
    const u: GraphUser = blankUser(id, "", isoDate(r));
    if (guest) {
      const ext = `${base}@${r.pick(GUEST_DOMAINS)}`;
      upn = `${ext.replace("@", "_")}#EXT#@${tenant.domain}`;
      mail = ext;
      u.userType = "Guest";
      u.creationType = "Invitation";
      u.externalUserState = r.chance(0.8) ? "Accepted" : "PendingAcceptance";
      u.otherMails = [ext];
      // Real guests often have no `mail`, only otherMails (the invited address). This and what follows are chosen
      // from the id, not the seeded stream, so that every other generated value stays as it was.
      if (parseInt(id[0]!, 16) < 8) mail = null;
      Object.assign(u, guestRedemption(ext, u.externalUserState as string, u.createdDateTime, parseInt(id.slice(1, 3), 16)));
    } else {
      upn = `${base}@${tenant.domain}`;
      mail = r.chance(0.06) ? null : upn;
      const synced = r.chance(0.7);
      if (synced) {
        u.onPremisesSyncEnabled = true;
        u.onPremisesSamAccountName = `${asciiFold(given).slice(0, 1)}${asciiFold(sur)}${n > 0 ? n + 1 : ""}`.slice(0, 20) || `u${i}`;
        u.onPremisesImmutableId = Buffer.from(r.hex8() + r.hex8() + r.hex8() + r.hex8(), "hex").toString("base64");
      }
      u.employeeId = r.chance(0.9) ? String(100000 + i) : null;
      u.employeeType = r.chance(0.85) ? "Employee" : "Contractor";
      u.department = r.pick(DEPARTMENTS);
      u.jobTitle = `${r.chance(0.3) ? r.pick(["Principal", "Staff", "Junior"]) + " " : ""}${r.pick(TITLES)}`;
      u.companyName = "Rollcall Test Corp";
      u.officeLocation = r.chance(0.7) ? `${r.pick(c.cities)} ${r.range(1, 40)}/${r.range(100, 999)}` : null;
      const ext = u.onPremisesExtensionAttributes as Record<string, string | null>;
      ext.extensionAttribute1 = `CC-${r.range(1000, 9999)}`;
      if (r.chance(0.3)) ext.extensionAttribute2 = r.pick(c.cities);
      if (r.chance(0.03)) ext.extensionAttribute10 = luhnCardNumber(r);
      if (r.chance(0.01)) ext.extensionAttribute15 = `card ${luhnCardNumber(r)} exp 0${r.range(1, 9)}/2${r.range(6, 9)}`;
    }
    u.userPrincipalName = upn;
    u.mail = mail;
    u.mailNickname = base;
    if (mail && !guest) u.proxyAddresses = [`SMTP:${mail}`];
    u.givenName = given;
    u.surname = sur;
    u.displayName = c.code === "JP" && r.chance(0.5) ? `${sur} ${given}` : `${given} ${sur}`;
    u.accountEnabled = !r.chance(0.05);
    u.usageLocation = c.code;
    u.country = c.code;
    u.city = r.pick(c.cities);
    u.preferredLanguage = r.chance(0.8) ? c.lang : null;
    const phoneRoll = r.next();
    if (phoneRoll < 0.02) u.businessPhones = [r.pick(UNPARSEABLE)];
    else if (phoneRoll < 0.75) u.businessPhones = [c.phone(r)];
    u.mobilePhone = r.chance(0.01) ? r.pick(UNPARSEABLE) : r.chance(0.5) ? c.mobile(r) : null;
    tenant.insertUser(u);
    const photo = generatedPhoto(id);
    if (photo) tenant.photos.set(id, photo);
  }
}

export function generateGroups(tenant: Tenant, count: number, seed: number): void {
  if (count <= 0) return;
  const r = Rng.derive(seed, `groups:${tenant.id}`);
  const ids: string[] = [];
  const level: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.guid();
    let name: string;
    if (i === 0) name = "All Employees";
    else if (i <= DEPARTMENTS.length) name = DEPARTMENTS[i - 1] as string;
    else name = `${r.pick(["Project", "Team", "Committee", "Guild", "Site"])} ${r.pick(PROJECTS)}${i > 60 ? ` ${i}` : ""} ${r.pick(["", "– Berlin", "– Paris", "– Sydney", "(Ops)", ""])}`.trim();
    const g = blankGroup(id, name);
    const kindRoll = r.next();
    g.createdDateTime = isoDate(r);
    g.description = r.chance(0.7) ? `${name} members` : null;
    if (i === 0) {
      g.groupTypes = ["DynamicMembership"];
      g.membershipRule = '(user.userType -eq "Member")';
      g.membershipRuleProcessingState = "On";
    } else if (kindRoll < 0.25) {
      g.groupTypes = ["Unified"]; g.mailEnabled = true; g.securityEnabled = false; g.visibility = r.pick(["Private", "Public"]);
      g.mail = `${g.mailNickname.toLowerCase()}${i}@${tenant.domain}`;
    } else if (kindRoll < 0.35) {
      g.mailEnabled = true; g.securityEnabled = false; g.mail = `${g.mailNickname.toLowerCase()}${i}@${tenant.domain}`;
    } else if (kindRoll < 0.4) {
      g.mailEnabled = true; g.mail = `${g.mailNickname.toLowerCase()}${i}@${tenant.domain}`;
    } else if (r.chance(0.4)) {
      g.onPremisesSyncEnabled = true; g.onPremisesSamAccountName = g.mailNickname.slice(0, 20);
    }
    tenant.insertGroup(g);
    ids.push(id);
    level.push(i === 0 ? -1 : i <= Math.max(1, Math.round(count * 0.05)) ? 0 : i <= Math.max(2, Math.round(count * 0.2)) ? 1 : 2);
  }
  // Nesting, two levels deep: level-1 groups inside level-0 ones, some leaves inside level-1 ones.
  const l0 = ids.filter((_, i) => level[i] === 0);
  const l1 = ids.filter((_, i) => level[i] === 1);
  ids.forEach((id, i) => {
    if (level[i] === 1 && l0.length && r.chance(0.8)) tenant.addMember(r.pick(l0), id);
    else if (level[i] === 2 && l1.length && r.chance(0.3)) tenant.addMember(r.pick(l1), id);
  });
  // Users: everyone who is a member is in "All Employees"; plus about two more groups, skewed so a
  // few groups are large.
  const all = ids[0] as string;
  for (const rec of tenant.users) {
    if (rec.u.userType === "Member") tenant.addMember(all, rec.u.id);
    if (count < 2) continue;
    const k = r.range(1, 3);
    for (let j = 0; j < k; j++) {
      const x = r.next();
      const gi = 1 + Math.floor(x * x * (count - 1));
      const gid = ids[gi] as string;
      if (!tenant.groupsById.get(gid)?.members.has(rec.u.id)) tenant.addMember(gid, rec.u.id);
    }
  }
}

/**
 * An org tree over the members (guests get no manager, as in most tenants): the first member heads it, about one in
 * twelve others has no manager either (the org chart is never complete), the rest report to an earlier member, most
 * of them to one of the first fifth, so a few people have many reports. From its own stream: other values stay as they were.
 */
export function generateManagers(tenant: Tenant, seed: number): void {
  const r = Rng.derive(seed, `managers:${tenant.id}`);
  const members = tenant.users.filter((rec) => rec.u.userType === "Member");
  members.forEach((rec, i) => {
    if (i === 0 || r.chance(0.08)) return;
    const pool = r.chance(0.8) ? Math.max(1, Math.ceil(i / 5)) : i;
    rec.manager = (members[r.int(pool)] as typeof rec).u.id;
  });
}
