import type { HookContext, SolidityHooks } from "hardhat/types/hooks";
import type { CompilerOutputError } from "hardhat/types/solidity";

/** solc's "Transient storage as defined by EIP-1153 can break the composability..." warning. */
const TRANSIENT_STORAGE_WARNING = "2394";
/** Where it is accepted: OpenZeppelin's TransientSlot library (source names may carry the package version). */
const TRANSIENT_SLOT_FILE = /(^|\/)@openzeppelin\/contracts(@[^/]+)?\/utils\/TransientSlot\.sol$/;

/** The file a diagnostic points at, from its "--> path:line:column" (Hardhat passes on no sourceLocation). */
function fileOf(error: CompilerOutputError): string {
  return /-->\s+(\S+?\.sol):\d+:\d+/.exec(error.formattedMessage ?? "")?.[1] ?? "";
}

export function isAcceptedTransientSlotWarning(error: CompilerOutputError): boolean {
  return error.severity === "warning" && error.errorCode === TRANSIENT_STORAGE_WARNING && TRANSIENT_SLOT_FILE.test(fileOf(error));
}

export default async (): Promise<Partial<SolidityHooks>> => ({
  async getCompilationJobErrors(context: HookContext, compilationJob, compilerOutput, next) {
    const errors = await next(context, compilationJob, compilerOutput);
    return errors.filter((error) => !isAcceptedTransientSlotWarning(error));
  },
});
