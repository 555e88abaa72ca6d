import { expect } from "chai";
import { Transaction, Wallet, hexlify, randomBytes } from "ethers";
import { Eip1559Signer } from "../../bridge/src/chain/eip1559-signer.js";
import type { Hex } from "../../protocol/hex.js";

describe("bridge Eip1559Signer", () => {
  const wallet = Wallet.createRandom();
  const chainId = 31337n;
  const signer = new Eip1559Signer(wallet.privateKey, chainId);

  const cases = [
    { name: "empty calldata, zero fees", dataBytes: 0, nonce: 0, fee: 0n, gas: 21_000n },
    { name: "one byte below 0x80", data: "0x05", nonce: 1, fee: 1n, gas: 30_000n },
    { name: "55 bytes (short RLP string)", dataBytes: 55, nonce: 127, fee: 1_000_000_000n, gas: 100_000n },
    { name: "56 bytes (long RLP string)", dataBytes: 56, nonce: 127, fee: 1_000_000_000n, gas: 100_000n },
    { name: "a 60 KB fulfilBatch", dataBytes: 60_000, nonce: 70_000, fee: 123_456_789_012n, gas: 16_777_216n },
  ];

  for (const c of cases) {
    it(`produces ethers' exact bytes and hash: ${c.name}`, async () => {
      const tx = {
        to: Wallet.createRandom().address,
        data: (c.data ?? hexlify(randomBytes(c.dataBytes ?? 0))) as Hex,
        nonce: c.nonce,
        gasLimit: c.gas,
        maxFeePerGas: c.fee * 2n,
        maxPriorityFeePerGas: c.fee,
      };
      const ours = signer.sign(tx);
      const theirs = await wallet.signTransaction({ type: 2, chainId, value: 0n, ...tx });
      expect(ours.raw).to.equal(theirs);
      const parsed = Transaction.from(ours.raw);
      expect(parsed.hash).to.equal(ours.hash);
      expect(parsed.from).to.equal(wallet.address);
      expect(parsed.nonce).to.equal(tx.nonce);
      expect(parsed.data).to.equal(tx.data.toLowerCase());
    });
  }

  it("binds the chain id", () => {
    const tx = { to: wallet.address, data: "0x" as Hex, nonce: 0, gasLimit: 21_000n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n };
    expect(Transaction.from(new Eip1559Signer(wallet.privateKey, 1n).sign(tx).raw).chainId).to.equal(1n);
    expect(Transaction.from(signer.sign(tx).raw).chainId).to.equal(chainId);
  });
});
