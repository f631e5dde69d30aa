#!/usr/bin/env node
// One-off conversion of the end-to-end tests from Node's test runner to Jest. Run it on a tree whose
// tests still import 'node:test' (`node scripts/jest-codemod.mjs [dir]`, default test/); it refuses a
// tree that is already converted, because the path rewrite below is not idempotent.
//
// What it does, per file under the directory (dist/, unit/, bench/ and jest/ left alone):
// - `import { describe, it, before, after, … } from 'node:test'` → the same names from '@jest/globals',
//   with before → beforeAll, after → afterAll (suite → describe, test stays test);
// - option objects: `it(name, { skip: x }, fn)` → `(x ? it.skip : it)(name, fn)` (a literal true or a
//   reason string gives `it.skip`), `todo` → `it.todo(name)`, `only` → `it.only`, `timeout: n` → Jest's
//   timeout argument, `concurrency` dropped (Jest runs the tests of one file in order);
// - a test nested in a test (a node:test subtest) → a call of a small `subtest` helper, run in place;
// - the test context: `t.after(fn)` → a per-file cleanup list run after each test, `t.diagnostic(m)`
//   → console.log(m), `t.name` → the current test name; the parameter goes (Jest would take it for
//   a `done` callback). Anything else on the context stops the codemod with the file and line;
// - paths: tests ran compiled from test/dist, Jest runs the sources in test/. Literal paths built on
//   `__dirname` and relative module specifiers that left test/dist are rewritten to reach the same
//   target from the source directory.
// Assertions (node:assert) stay as they are.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(join(root, 'package.json'))('typescript');

const dir = resolve(process.argv[2] ?? join(root, 'test'));
const SKIP_DIRS = new Set(['dist', 'unit', 'bench', 'jest', 'node_modules', 'artifacts']);
const RENAME = { before: 'beforeAll', after: 'afterAll', suite: 'describe', describe: 'describe', it: 'it', test: 'test', beforeEach: 'beforeEach', afterEach: 'afterEach' };
const TESTS = new Set(['it', 'test']);
const CLEANUPS = 'testCleanups';
const SUBTEST = 'subtest';

function files(from) {
  return readdirSync(from).flatMap((name) => {
    const path = join(from, name);
    if (statSync(path).isDirectory()) return SKIP_DIRS.has(name) ? [] : files(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

class Refusal extends Error {}

function convert(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits = [];
  const edit = (start, end, replacement) => edits.push({ start, end, replacement });
  const where = (node) => `${relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const refuse = (node, what) => {
    throw new Refusal(`${where(node)}: ${what}; convert this by hand`);
  };

  // Local names bound to node:test exports → their Jest name.
  const imported = new Map();
  let needsCleanups = false;
  let needsSubtest = false;
  let insideTest = 0;
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || statement.moduleSpecifier.text !== 'node:test') continue;
    const bindings = statement.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings) || statement.importClause.name) refuse(statement, 'only named imports from node:test are handled');
    for (const element of bindings.elements) {
      const name = (element.propertyName ?? element.name).text;
      if (!RENAME[name]) refuse(element, `node:test's ${name} has no Jest counterpart here`);
      imported.set(element.name.text, RENAME[name]);
    }
  }
  const jestNames = new Set(imported.values());

  // Which call is a test, a suite or a hook of node:test: `it(…)`, `it.skip(…)`, `describe.only(…)`.
  const kind = (callee) => {
    if (ts.isIdentifier(callee) && imported.has(callee.text)) return { base: callee, name: imported.get(callee.text), modifier: null };
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && imported.has(callee.expression.text)) {
      const modifier = callee.name.text;
      if (!['skip', 'only', 'todo'].includes(modifier)) refuse(callee, `${callee.getText()} is not handled`);
      return { base: callee.expression, name: imported.get(callee.expression.text), modifier };
    }
    return null;
  };

  const literalPath = (node) => {
    let inner = node;
    while (ts.isAsExpression(inner) || ts.isParenthesizedExpression(inner)) inner = inner.expression;
    return ts.isStringLiteral(inner) || ts.isNoSubstitutionTemplateLiteral(inner) ? inner : null;
  };
  // The file ran from test/dist/<same relative path>; a target outside test/dist is re-aimed from here.
  const srcDir = dirname(file);
  const distDir = join(dir, 'dist', relative(dir, srcDir));
  const reaim = (parts) => {
    const target = resolve(distDir, ...parts);
    const distRoot = join(dir, 'dist');
    if (target === distRoot || target.startsWith(distRoot + sep)) return null;
    return relative(srcDir, target) || '.';
  };
  const rewriteSpecifier = (literal) => {
    if (!literal || !/^\.\.?\//.test(literal.text)) return;
    const next = reaim([literal.text]);
    if (next === null) return;
    const spec = next.startsWith('.') ? next.split(sep).join('/') : `./${next.split(sep).join('/')}`;
    edit(literal.getStart() + 1, literal.getEnd() - 1, spec);
  };

  const visitTestFunction = (fn, call) => {
    if (!fn || !(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) || fn.parameters.length === 0) return;
    if (fn.parameters.length > 1) refuse(fn, 'a test function with more than one parameter');
    const param = fn.parameters[0];
    if (!ts.isIdentifier(param.name)) refuse(param, 'a destructured test context');
    const context = param.name.text;
    const isSuite = kind(call.expression)?.name === 'describe';
    const uses = (node) => {
      if (ts.isIdentifier(node) && node.text === context && node !== param.name) {
        const parent = node.parent;
        if (isSuite || !ts.isPropertyAccessExpression(parent) || parent.expression !== node) refuse(node, `the test context '${context}' is used as a value`);
        const member = parent.name.text;
        if (member === 'after' && ts.isCallExpression(parent.parent) && parent.parent.expression === parent) {
          needsCleanups = true;
          edit(parent.getStart(), parent.getEnd(), `${CLEANUPS}.push`);
        } else if (member === 'diagnostic' && ts.isCallExpression(parent.parent)) {
          edit(parent.getStart(), parent.getEnd(), 'console.log');
        } else if (member === 'name') {
          jestNames.add('expect');
          edit(parent.getStart(), parent.getEnd(), 'expect.getState().currentTestName');
        } else {
          refuse(parent, `the test context's ${member} has no mechanical Jest counterpart`);
        }
        return;
      }
      ts.forEachChild(node, uses);
    };
    uses(fn.body);
    // `(t) =>` → `() =>`; `async (t: TestContext) =>` likewise.
    const open = text.lastIndexOf('(', param.getStart());
    const close = text.indexOf(')', param.getEnd());
    if (open < fn.getStart() || close < 0) refuse(fn, 'an unparenthesised test context parameter');
    edit(open + 1, close, '');
  };

  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      if (node.moduleSpecifier.text === 'node:test') {
        edit(node.getStart(), node.getEnd(), '@@JEST_IMPORT@@');
        return;
      }
      rewriteSpecifier(node.moduleSpecifier);
    }
    if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require')) {
        rewriteSpecifier(node.arguments[0] && literalPath(node.arguments[0]));
      }
      const callee = node.expression;
      const pathCall = (ts.isIdentifier(callee) && ['join', 'resolve'].includes(callee.text)) || (ts.isPropertyAccessExpression(callee) && ['join', 'resolve'].includes(callee.name.text));
      if (pathCall && node.arguments[0] && ts.isIdentifier(node.arguments[0]) && node.arguments[0].text === '__dirname') {
        const literals = [];
        for (const arg of node.arguments.slice(1)) {
          const literal = literalPath(arg);
          if (!literal) break;
          literals.push(literal);
        }
        const next = literals.length ? reaim(literals.map((l) => l.text)) : null;
        if (next !== null) {
          const parts = next === '.' ? [] : next.split(sep);
          const replacement = ['__dirname', ...parts.map((p) => `'${p}'`)].join(', ');
          edit(node.arguments[0].getStart(), literals.at(-1).getEnd(), replacement);
        }
      }
      const call = kind(node.expression);
      if (call) {
        const args = node.arguments;
        const optionsIndex = call.name === 'describe' || TESTS.has(call.name) ? 1 : -1;
        let modifier = call.modifier;
        let condition = null;
        let timeout = null;
        let fn = call.name === 'describe' || TESTS.has(call.name) ? args.at(-1) : args[0];
        const hookOptions = optionsIndex === -1 ? args[1] : null;
        const options = optionsIndex === 1 && args.length >= 3 ? args[1] : hookOptions;
        if (options) {
          if (!ts.isObjectLiteralExpression(options)) refuse(options, 'options that are not an object literal');
          for (const property of options.properties) {
            if (!ts.isPropertyAssignment(property) || !ts.isIdentifier(property.name)) refuse(property, 'an option that is not a plain property');
            const key = property.name.text;
            const value = property.initializer;
            const isTrue = value.kind === ts.SyntaxKind.TrueKeyword || ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value);
            const isFalse = value.kind === ts.SyntaxKind.FalseKeyword;
            if (key === 'skip' || key === 'todo' || key === 'only') {
              if (optionsIndex === -1) refuse(property, `${key} on a hook`);
              if (isFalse) continue;
              if (modifier && modifier !== key) refuse(property, `both ${modifier} and ${key}`);
              if (isTrue) modifier = key;
              else if (key === 'only') refuse(property, 'a conditional only');
              else condition = { key, value };
            } else if (key === 'timeout') {
              timeout = value.getText();
            } else if (key === 'concurrency') {
              console.warn(`${where(property)}: concurrency dropped (Jest runs a file's tests in order)`);
            } else {
              refuse(property, `the option ${key}`);
            }
          }
        }
        if (timeout !== null && call.name === 'describe') refuse(options, 'a suite timeout (Jest has none; set it on the tests)');
        if (insideTest > 0) {
          // A node:test subtest (`await it(…)` inside a test): run in place, named in its failure.
          if (!TESTS.has(call.name) || call.modifier || options) refuse(node, `a nested ${call.name} with options or modifiers`);
          needsSubtest = true;
          edit(node.expression.getStart(), node.expression.getEnd(), SUBTEST);
          visitTestFunction(fn, node);
          ts.forEachChild(node, visit);
          return;
        }
        visitTestFunction(fn, node);
        if (TESTS.has(call.name)) insideTest++;
        ts.forEachChild(node, visit);
        if (TESTS.has(call.name)) insideTest--;

        const name = call.name;
        if (modifier === 'todo') {
          if (!TESTS.has(name)) refuse(node, 'todo on a suite');
          edit(node.getStart(), node.getEnd(), `${name}.todo(${args[0].getText()})`);
          return;
        }
        const head = modifier ? `${name}.${modifier}` : name;
        let calleeText = head;
        if (condition) {
          if (condition.key === 'todo') refuse(options, 'a conditional todo');
          // `skip: ok ? false : 'why'` reads best as `(ok ? it : it.skip)`, the reason kept as a comment.
          const value = condition.value;
          const isFalse = (n) => n.kind === ts.SyntaxKind.FalseKeyword;
          const reason = (n) => (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n) ? n.getText().slice(1, -1) : null);
          const note = (why) => {
            const statement = ts.isExpressionStatement(node.parent) ? node.parent : node;
            const lineStart = text.lastIndexOf('\n', statement.getStart()) + 1;
            const indent = text.slice(lineStart, statement.getStart());
            edit(statement.getStart(), statement.getStart(), `// Skipped ${why}\n${indent}`);
          };
          if (ts.isConditionalExpression(value) && isFalse(value.whenTrue) && reason(value.whenFalse) !== null) {
            note(`otherwise: ${reason(value.whenFalse)}`);
            calleeText = `(${value.condition.getText()} ? ${head} : ${name}.skip)`;
          } else if (ts.isConditionalExpression(value) && isFalse(value.whenFalse) && reason(value.whenTrue) !== null) {
            note(`if so: ${reason(value.whenTrue)}`);
            calleeText = `(${value.condition.getText()} ? ${name}.skip : ${head})`;
          } else {
            calleeText = `((${value.getText()}) ? ${name}.skip : ${head})`;
          }
        }
        edit(node.expression.getStart(), node.expression.getEnd(), calleeText);
        if (options) {
          // Drop the options argument (and its comma) …
          edit(args[0].getEnd(), options.getEnd(), '');
        }
        // … and give Jest the timeout as its last argument.
        if (timeout !== null) edit(fn.getEnd(), fn.getEnd(), `, ${timeout}`);
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  const helpers = [];
  if (needsCleanups) {
    helpers.push(`/** What tests registered to undo once they end (node:test's t.after). */\nconst ${CLEANUPS}: (() => unknown)[] = [];\nafterEach(async () => {\n  for (const cleanup of ${CLEANUPS}.splice(0).reverse()) await cleanup();\n});`);
  }
  if (needsSubtest) {
    helpers.push(`/** A node:test subtest, run in place (Jest has none): its failure names it. */\nasync function ${SUBTEST}(name: string, fn: () => unknown): Promise<void> {\n  try {\n    await fn();\n  } catch (error) {\n    throw new Error(\`\${name} failed\`, { cause: error });\n  }\n}`);
  }
  if (helpers.length) {
    const lastImport = source.statements.filter((st) => ts.isImportDeclaration(st)).at(-1);
    edit(lastImport.getEnd(), lastImport.getEnd(), `\n\n${helpers.join('\n\n')}`);
  }
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (let i = 0; i < edits.length; i++) {
    const e = edits[i];
    if (i > 0 && e.end > edits[i - 1].start && !(e.start === e.end)) {
      throw new Refusal(`${relative(root, file)}: overlapping rewrites; convert this by hand`);
    }
    out = out.slice(0, e.start) + e.replacement + out.slice(e.end);
  }
  if (imported.size) {
    if (needsCleanups) jestNames.add('afterEach');
    const order = ['afterAll', 'afterEach', 'beforeAll', 'beforeEach', 'describe', 'expect', 'it', 'test'];
    const names = [...jestNames].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    out = out.replace('@@JEST_IMPORT@@', `import { ${names.join(', ')} } from '@jest/globals';`);
  }
  // The system under test is started by Jest's global setup now.
  out = out.replaceAll('scripts/test.mjs', 'test/jest/global-setup.mjs');
  return out === text ? null : out;
}

const all = files(dir);
const converted = all.filter((file) => readFileSync(file, 'utf8').includes("from '@jest/globals'"));
if (converted.length) {
  console.error(`already converted (${converted.map((f) => relative(root, f)).join(', ')}): run this on the node:test tree only`);
  process.exit(1);
}
const results = [];
try {
  for (const file of all) {
    const out = convert(file, readFileSync(file, 'utf8'));
    if (out !== null) results.push([file, out]);
  }
} catch (error) {
  if (!(error instanceof Refusal)) throw error;
  console.error(error.message);
  process.exit(1);
}
// Nothing is written unless every file converts.
for (const [file, out] of results) {
  writeFileSync(file, out);
  console.log(`converted ${relative(root, file)}`);
}
