// ESLint for every TypeScript part (`npm run lint`). Syntax-level rules only: typescript-eslint's
// type-checked presets re-run the TypeScript compiler over the whole project, which `npm test`
// already does once with `tsc --noEmit`; without them linting takes seconds.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    // Generated or built output, never edited by hand.
    ignores: ["node_modules/", "dist/", "artifacts/", "cache/", "types/", "coverage/", "agents/*/dist/", ".demo/", ".worker/", ".local/"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // Unused bindings are dead code; a leading underscore marks one kept on purpose (a positional
      // parameter an interface requires, a destructured field dropped from a rest object).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // Chai's property assertions (`expect(x).to.exist`) are expressions by design.
      "@typescript-eslint/no-unused-expressions": "off",
      // Expected CLI output is matched column for column, spaces as printed.
      "no-regex-spaces": "off",
    },
  },
);
