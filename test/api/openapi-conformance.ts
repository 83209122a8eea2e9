import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";

/**
 * Checks an answer against what the OpenAPI document says of its operation, as a strict generated client
 * would read it: the status is documented, the content type is one documented for that status, a JSON body
 * validates against its schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1), a documented header is sent,
 * and an answer documented without content has none.
 */
export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  /** The body as sent. */
  text: string;
}

type Json = Record<string, any>;
const componentsId = "urn:rollcall:components";

export interface Conformance {
  /** The documented operation a request is (the path template, `GET /api/v1/workspaces/{workspace}/users`), or undefined. */
  operationOf(method: string, url: string): string | undefined;
  /** What is wrong with an answer to that operation, each problem one line; empty when it is as documented. */
  problems(operation: string, answer: Answer): string[];
  /** What is wrong with an error answered to a request that is no operation (a method its path does not take): the shared Error JSON. */
  errorProblems(request: string, answer: Answer): string[];
  operations: string[];
}

export function conformance(doc: Json): Conformance {
  // strict: OpenAPI's own keywords in a schema (none today) would be an error, as would a misspelt JSON Schema one;
  // formats are checked: a timestamp documented as date-time must be one.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajvFormats.default(ajv);
  const link = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', `"${componentsId}#/$defs/`)) as T;
  ajv.addSchema({ $id: componentsId, $defs: link(doc.components.schemas) });

  const operations = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
  );
  const patterns = operations.map((o) => ({
    ...o,
    pattern: new RegExp(`^${o.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+")}$`),
    // A literal segment wins over a parameter (…/imports/template over …/imports/{id}), as the router decides.
    parameters: (o.path.match(/\{/g) ?? []).length,
  }));
  const validators = new Map<string, ValidateFunction>();
  const validator = (key: string, schema: Json) => {
    if (!validators.has(key)) validators.set(key, ajv.compile(link(schema)));
    return validators.get(key)!;
  };

  return {
    operations: operations.map((o) => o.key),
    operationOf(method, url) {
      const path = url.split("?")[0]!;
      return patterns.filter((p) => p.method === method && p.pattern.test(path)).sort((a, b) => a.parameters - b.parameters)[0]?.key;
    },
    problems(key, answer) {
      const operation = operations.find((o) => o.key === key)!.operation;
      const documented = operation.responses[String(answer.status)] as Json | undefined;
      if (!documented) return [`${key} answered ${answer.status}, which it does not document (it documents ${Object.keys(operation.responses).join(", ")})`];
      return answerProblems(`${key} ${answer.status}`, documented, answer);
    },
    errorProblems(request, answer) {
      const documented = { content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
      return answer.status < 400 ? [`${request} answered ${answer.status}, not an error`] : answerProblems(`${request} ${answer.status}`, documented, answer);
    },
  };

  /** An answer against one documented response (`at` names both in each problem). */
  function answerProblems(at: string, documented: Json, answer: Answer): string[] {
    const problems: string[] = [];
    for (const header of Object.keys(documented.headers ?? {})) {
      if (answer.headers[header.toLowerCase()] === undefined) problems.push(`${at}: the documented ${header} header was not sent`);
    }
    const contentType = answer.headers["content-type"] === undefined ? undefined : String(answer.headers["content-type"]).split(";")[0]!.trim();
    const content = documented.content as Record<string, { schema: Json }> | undefined;
    if (!content) {
      if (answer.text !== "") problems.push(`${at} is documented without content, but sent ${contentType}: ${answer.text.slice(0, 200)}`);
      return problems;
    }
    if (!contentType || !content[contentType]) return [...problems, `${at} sent ${contentType}; documented: ${Object.keys(content).join(", ")}`];
    // JSON as application/json, or a JSON-based media type (application/scim+json).
    if (contentType !== "application/json" && !contentType.endsWith("+json")) return problems;
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [...problems, `${at} sent ${contentType} that does not parse: ${answer.text.slice(0, 200)}`];
    }
    const validate = validator(at, content[contentType].schema);
    if (!validate(body)) {
      for (const error of validate.errors ?? []) {
        const where = error.instancePath || "(body)";
        const value = JSON.stringify(valueAt(body, error.instancePath))?.slice(0, 160);
        problems.push(`${at}: ${where} ${error.message}${error.params && Object.keys(error.params).length ? ` ${JSON.stringify(error.params)}` : ""} (sent ${value})`);
      }
    }
    return problems;
  }
}

function valueAt(body: unknown, pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")], body);
}
