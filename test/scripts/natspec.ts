import { expect } from "chai";
import { natspecGaps } from "../../scripts/lint/natspec.js";

describe("NatSpec check (npm run lint)", () => {
  const documented = `
    /// @notice Pays.
    /// @param to Who.
    /// @param amount How much.
    /// @return paid What left.
    function pay(address to, uint256 amount) external returns (uint256 paid) {}`;

  it("accepts a function documenting every parameter and return value", () => {
    expect(natspecGaps("A.sol", documented)).to.deep.equal([]);
  });

  it("names a missing @param and a missing @return", () => {
    const source = documented.replace("    /// @param amount How much.\n", "").replace("    /// @return paid What left.\n", "");
    expect(natspecGaps("A.sol", source)).to.deep.equal(["A.sol:4 pay: no @param for amount", "A.sol:4 pay: 0 @return for 1 values"]);
  });

  it("counts unnamed and multi-line return values, and reads through a solhint comment", () => {
    const source = `
    /// @notice Two values.
    /// @return The first.
    // solhint-disable-next-line func-name-mixedcase
    function TWO(bytes calldata data)
        external
        view
        returns (uint256, bytes memory)
    {}`;
    expect(natspecGaps("B.sol", source)).to.deep.equal(["B.sol:5 TWO: no @param for data", "B.sol:5 TWO: 1 @return for 2 values"]);
  });

  it("skips internal functions and those with @inheritdoc", () => {
    const source = `
    function _hidden(uint256 x) internal returns (uint256) {}
    /// @inheritdoc IThing
    function shown(uint256 x) public returns (uint256) {}`;
    expect(natspecGaps("C.sol", source)).to.deep.equal([]);
  });
});
