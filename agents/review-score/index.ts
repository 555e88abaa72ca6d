import { abi, defineAgent } from "../../worker/sdk/index.js";
import { analyse } from "../sentiment/index.js";

/** Scores a review. Input: abi.encode(string text). Output: abi.encode(int256 score, string label), score in thousandths from -1000 to 1000. */
export default defineAgent((_input, ctx) => {
  const [text] = abi.decode(["string"], ctx.inputBytes) as [string];
  const { score, label } = analyse(text);
  return abi.encode(["int256", "string"], [BigInt(Math.round(score * 1000)), label]);
});
