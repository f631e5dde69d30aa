import { GraphQLError, Kind, visit, type ASTVisitor, type DocumentNode, type ValidationContext, type ValueNode } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { BadInputError } from './errors';

/**
 * PostgreSQL cannot store U+0000 in text or jsonb (error 22021), and jsonb refuses an unpaired UTF-16
 * surrogate (22P05); elsewhere a lone surrogate silently becomes U+FFFD. Both are the caller's
 * mistake, so they are refused at the edge, naming the input field, before any resolver runs.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function unstorable(text: string): boolean {
  return UNSTORABLE.test(text);
}

/** The path (`a.b.2`) of the first string or object key in `value` that cannot be stored, if any. */
export function findUnstorableText(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return unstorable(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnstorableText(item, `${path}.${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (unstorable(key)) return path;
      const found = findUnstorableText(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The path of the first literal written in the document (`input: { name: "…" }`) that `bad` refuses;
 * an object key `bad` refuses names its object.
 */
function findInLiteral(node: ValueNode, path: string, bad: (leaf: ValueNode | string) => boolean): string | undefined {
  switch (node.kind) {
    case Kind.LIST:
      for (const [i, item] of node.values.entries()) {
        const found = findInLiteral(item, `${path}.${i}`, bad);
        if (found) return found;
      }
      return undefined;
    case Kind.OBJECT:
      for (const field of node.fields) {
        if (bad(field.name.value)) return path;
        const found = findInLiteral(field.value, `${path}.${field.name.value}`, bad);
        if (found) return found;
      }
      return undefined;
    default:
      return bad(node) ? path : undefined;
  }
}

const unstorableLiteral = (leaf: ValueNode | string) => (typeof leaf === 'string' ? unstorable(leaf) : leaf.kind === Kind.STRING && unstorable(leaf.value));

/** The field as clients name it elsewhere: the path inside the argument or variable (`input.name` → `name`). */
const fieldName = (path: string) => path.split('.').slice(1).join('.') || path;

/**
 * Documents whose literals were found storable. Apollo hands the same parsed document to every
 * request with the same text, so a document is walked once, not once per request.
 */
const storableDocuments = new WeakSet<DocumentNode>();

export function assertStorableText(document: DocumentNode, variables: Record<string, unknown> | undefined): void {
  for (const [name, value] of Object.entries(variables ?? {})) {
    const found = findUnstorableText(value, name);
    if (found) throw unstorableError(fieldName(found));
  }
  if (storableDocuments.has(document)) return;
  visit(document, {
    Argument(node) {
      const found = findInLiteral(node.value, node.name.value, unstorableLiteral);
      if (found) throw unstorableError(fieldName(found));
    },
  });
  storableDocuments.add(document);
}

function unstorableError(field: string) {
  const error = new BadInputError(field, `${field} contains a NUL character or invalid Unicode (an unpaired surrogate)`);
  error.extensions.http = { status: 400 };
  return error;
}

/** Apollo Server plugin: refuses NUL characters and unpaired surrogates anywhere in an operation's input. */
export function storableTextOnly<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          assertStorableText(document, request.variables);
        },
      };
    },
  };
}

/**
 * Validation rule: a number literal must be finite. graphql-js turns `1e400` written in a document
 * into Infinity for a Float argument without complaint (a variable of that value is refused), and
 * Infinity then fails far from the request, as an internal error.
 */
export function FiniteNumberLiterals(context: ValidationContext): ASTVisitor {
  const infinite = (leaf: ValueNode | string) => typeof leaf !== 'string' && (leaf.kind === Kind.FLOAT || leaf.kind === Kind.INT) && !Number.isFinite(Number(leaf.value));
  return {
    Argument(node) {
      const found = findInLiteral(node.value, node.name.value, infinite);
      if (!found) return;
      const field = fieldName(found);
      context.reportError(new GraphQLError(`${field} is not a finite number`, { nodes: node, extensions: { code: 'BAD_USER_INPUT', field } }));
    },
  };
}
