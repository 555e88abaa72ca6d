import { expect } from "chai";
import type { HookContext } from "hardhat/types/hooks";
import type { CompilerOutputError } from "hardhat/types/solidity";
import hooks from "../../scripts/hardhat/transient-slot-warning-hooks.js";

const TRANSIENT_TEXT = "Transient storage as defined by EIP-1153 can break the composability of smart contracts";

function warning(errorCode: string, file: string): CompilerOutputError {
  return {
    type: "Warning",
    component: "general",
    severity: "warning",
    errorCode,
    message: TRANSIENT_TEXT,
    formattedMessage: `Warning: ${TRANSIENT_TEXT}\n   --> ${file}:108:13:\n    |\n108 |             tstore(slot, value)\n`,
  };
}

describe("build: the TransientSlot warning is silenced for that file only", function () {
  it("drops solc warning 2394 in OpenZeppelin's TransientSlot.sol and keeps every other diagnostic", async function () {
    const accepted = warning("2394", "./node_modules/@openzeppelin/contracts/utils/TransientSlot.sol");
    const elsewhere = warning("2394", "contracts/core/MyTransientThing.sol");
    const lookalike = warning("2394", "contracts/utils/TransientSlot.sol");
    const otherWarning = warning("2072", "./node_modules/@openzeppelin/contracts/utils/TransientSlot.sol");
    const error = { ...accepted, severity: "error" as const, type: "TypeError" };
    const { getCompilationJobErrors } = await hooks();
    const kept = await getCompilationJobErrors!({} as HookContext, {} as never, {} as never, async () => [accepted, elsewhere, lookalike, otherWarning, error]);
    expect(kept).to.deep.equal([elsewhere, lookalike, otherWarning, error]);
  });
});
