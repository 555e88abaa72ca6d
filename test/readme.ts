import { existsSync, readFileSync } from "node:fs";
import { expect } from "chai";
import hre from "hardhat";

/**
 * Keeps the READMEs' examples true. A TypeScript or Solidity block must be a file of the repository
 * (named by a `<!-- file: path -->` line above it) and equal it: the file is compiled, type-checked
 * and run by the suite, so the block is too. A shell block may only use npm scripts that exist,
 * Hardhat tasks that exist with options they take, and files that exist.
 */
const DOCUMENTS = ["README.md", "devkit/README.md"];
const CODE_LANGUAGES = new Set(["ts", "solidity"]);
const SHELL_LANGUAGES = new Set(["sh"]);
/** Blocks other than these languages document formats and are not run. */
const OTHER_LANGUAGES = new Set(["json", "text"]);

interface Block {
  document: string;
  line: number;
  language: string;
  body: string;
  file?: string;
}

function blocksOf(document: string): Block[] {
  const lines = readFileSync(document, "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.indexOf("```", i + 1);
    if (end === -1) throw new Error(`${document}:${i + 1}: unclosed code block`);
    const marker = /^<!-- file: (\S+) -->$/.exec(lines[i - 1] ?? "");
    blocks.push({ document, line: i + 1, language: open[1]!, body: lines.slice(i + 1, end).join("\n"), file: marker?.[1] });
    i = end;
  }
  return blocks;
}

const toCamel = (option: string) => option.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The Hardhat task a command line names (longest id first: `test mocha` before `test`) and the rest of the line. */
function taskOf(words: string[]): { id: string[]; rest: string[] } | undefined {
  for (const length of [2, 1]) {
    const id = words.slice(0, length);
    try {
      hre.tasks.getTask(id);
      return { id, rest: words.slice(length) };
    } catch {
      // not a task of that length
    }
  }
  return undefined;
}

describe("README examples", function () {
  const blocks = DOCUMENTS.flatMap(blocksOf);
  const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts;
  const globalOptions = new Set(Object.keys(hre.globalOptions));

  it("has only blocks in a known language", function () {
    const unknown = blocks.filter((b) => !CODE_LANGUAGES.has(b.language) && !SHELL_LANGUAGES.has(b.language) && !OTHER_LANGUAGES.has(b.language));
    expect(unknown.map((b) => `${b.document}:${b.line} "${b.language}"`)).to.deep.equal([]);
  });

  it("shows TypeScript and Solidity only as files of the repository, verbatim", function () {
    const code = blocks.filter((b) => CODE_LANGUAGES.has(b.language));
    expect(code.length).to.be.greaterThan(3);
    for (const block of code) {
      const where = `${block.document}:${block.line}`;
      expect(block.file, `${where}: a ${block.language} block needs a <!-- file: path --> line above it`).to.be.a("string");
      expect(existsSync(block.file!), `${where}: ${block.file} does not exist`).to.equal(true);
      expect(block.body, `${where}: differs from ${block.file}`).to.equal(readFileSync(block.file!, "utf8").trimEnd());
    }
  });

  it("runs only npm scripts and Hardhat tasks that exist, with options they take, on files that exist", function () {
    const problems: string[] = [];
    for (const block of blocks.filter((b) => SHELL_LANGUAGES.has(b.language))) {
      block.body.split("\n").forEach((text, offset) => {
        const where = `${block.document}:${block.line + 1 + offset}`;
        const command = text.replace(/#.*$/, "").trim();
        for (const [, script] of command.matchAll(/\bnpm run ([\w:-]+)/g))
          if (scripts[script!] === undefined) problems.push(`${where}: no npm script "${script}"`);
        if (/\bnpm test\b/.test(command) && scripts.test === undefined) problems.push(`${where}: no npm test script`);
        for (const file of command.match(/[\w./-]+\.(ts|sol|json)\b/g) ?? [])
          if (!file.startsWith("http") && !existsSync(file)) problems.push(`${where}: no file ${file}`);
        const hardhat = /\bnpx hardhat (.*)$/.exec(command);
        if (hardhat === null) return;
        const words = hardhat[1]!.split(/\s+/).filter((w) => !w.startsWith("--"));
        const task = taskOf(words);
        if (task === undefined) {
          problems.push(`${where}: no Hardhat task "${words.slice(0, 2).join(" ")}"`);
          return;
        }
        const options = hre.tasks.getTask(task.id).options;
        for (const [, option] of hardhat[1]!.matchAll(/--([a-z][a-z-]*)/g)) {
          const name = toCamel(option!);
          if (!options.has(name) && !globalOptions.has(name)) problems.push(`${where}: ${task.id.join(" ")} takes no --${option}`);
        }
      });
    }
    expect(problems).to.deep.equal([]);
  });
});
