// Type-checked by `make openapi-check` against the types openapi-typescript
// generates from the served OpenAPI document (gen/api.ts): tsc fails when
// the document does not make a usable typed client, or when an operation
// does not answer errors with the platform's Error body.
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/api";

type ErrorBody = components["schemas"]["Error"];

type Method = "get" | "put" | "post" | "delete" | "patch";

// Every operation of the document (openapi-typescript writes `never` for
// the methods a path does not take).
type Operation = Exclude<
  { [P in keyof paths]: { [M in Method]: paths[P][M] }[Method] }[keyof paths],
  undefined
>;

// An operation whose default (any other status) response is the Error body.
type AnswersErrors = { responses: { default: { content: { "application/json": ErrorBody } } } };

// Compiles only if every operation answers errors with the Error body.
export const everyOperationAnswersErrors: Operation extends AnswersErrors ? true : never = true;

// The fields a client reads from every error.
export function describe(body: ErrorBody): string {
  const fields = (body.details.fields ?? []).map((f) => `${f.field}: ${f.description}`);
  const retry = body.details.retry_after_seconds;

  return [`${body.code}: ${body.message}`, ...fields, retry ? `retry in ${retry} s` : ""].filter(Boolean).join("\n");
}

// A typed client over every path of the document.
export const client = createClient<paths>({ baseUrl: "/" });
