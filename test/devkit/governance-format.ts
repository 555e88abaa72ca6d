import { expect } from "chai";
import { formatDuration } from "../../devkit/governance.js";

describe("devkit: governance durations", function () {
  it("shows the hours of a multi-day delay (unbonding 1 d + exit margin 1 h reads 1 d 1 h, not 1 d)", function () {
    expect(formatDuration(90_000)).to.equal("1 d 1 h");
    expect(formatDuration(7 * 86_400 + 3600)).to.equal("7 d 1 h");
    expect(formatDuration(86_400)).to.equal("1 d");
    expect(formatDuration(2 * 86_400 - 60)).to.equal("2 d");
    expect(formatDuration(3 * 3600)).to.equal("3 h");
    expect(formatDuration(45)).to.equal("45 s");
  });
});
