// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Fuzzed fee arithmetic and signature checks.
contract AgentRouterFuzzTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";

    struct FeeCase {
        uint96 price;
        uint72 workerFee;
        uint16 protocolFeeBps;
        uint64 phaPerGas;
        uint32 callbackGasLimit;
        uint96 extra;
        uint16 status;
    }

    function _boundCase(FeeCase memory c) internal view {
        c.price = uint96(bound(c.price, 0, 1_000 ether));
        c.workerFee = uint72(bound(c.workerFee, 0, 100 ether));
        c.protocolFeeBps = uint16(bound(c.protocolFeeBps, 0, router.MAX_PROTOCOL_FEE_BPS()));
        c.phaPerGas = uint64(bound(c.phaPerGas, 0, 1_000 gwei));
        c.callbackGasLimit = uint32(bound(c.callbackGasLimit, 0, 500_000));
        c.extra = uint96(bound(c.extra, 0, 100 ether));
        c.status = uint16(bound(c.status, 0, 13));
    }

    function _configure(FeeCase memory c) internal returns (AgentRouterState.Config memory config) {
        config = _defaultConfig();
        config.workerFee = c.workerFee;
        config.protocolFeeBps = c.protocolFeeBps;
        config.phaPerGas = c.phaPerGas;
        router.setConfig(config);
        vm.prank(agentOwner);
        agents.setPrice(agentId, c.price);
    }

    function testFuzz_FeeArithmetic(FeeCase memory c) public {
        _boundCase(c);
        AgentRouterState.Config memory config = _configure(c);
        uint256 estimate = router.estimateFee(agentId, c.callbackGasLimit);
        assertEq(estimate, _expectedEstimate(c.price, c.callbackGasLimit, config), "estimate formula");
        uint96 maxFee = uint96(estimate + c.extra);
        _fund(accountId, maxFee);
        uint256 balanceBefore = _balanceOf(accountId);

        IAgentRouter.AgentRequest memory req = _request("x", c.callbackGasLimit, maxFee);
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT, c.status, new uint256[](0));
        vm.recordLogs();
        vm.prank(relayer);
        router.fulfill(f);
        (uint256 totalFee, uint256 refund,) = _settlementFromLogs();

        uint256 agentFee = c.status == 0 ? c.price : 0;
        uint256 protocolFee = (agentFee + c.workerFee) * c.protocolFeeBps / 10_000;
        assertLe(totalFee, maxFee, "never more than maxFee");
        assertEq(refund, maxFee - totalFee, "refund is the rest");
        assertEq(balanceBefore - _balanceOf(accountId), totalFee, "account charged exactly totalFee");
        assertEq(_reservedOf(accountId), 0, "reservation released");
        // maxFee >= estimate covers every fixed part in full.
        assertEq(router.earnings(agentOwner), agentFee, "agent fee");
        assertEq(router.workerFees(req.worker), c.workerFee, "worker fee");
        assertEq(router.protocolFees(), protocolFee, "protocol fee");
        assertEq(
            router.earnings(agentOwner) + router.workerFees(req.worker) + router.protocolFees() + router.earnings(relayer),
            totalFee,
            "credits add up to the total"
        );
        assertLe(router.earnings(relayer), maxFee - agentFee - c.workerFee - protocolFee, "relayer capped");
    }

    function testFuzz_MaxFeeBelowEstimateReverts(uint96 price, uint32 callbackGasLimit, uint96 shortfall) public {
        price = uint96(bound(price, 0, 1_000 ether));
        callbackGasLimit = uint32(bound(callbackGasLimit, 0, MAX_CALLBACK_GAS));
        vm.prank(agentOwner);
        agents.setPrice(agentId, price);
        uint256 required = _expectedMinimumFee(price, callbackGasLimit, router.feeConfig());
        uint96 maxFee = uint96(required - bound(shortfall, 1, required));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.MaxFeeTooLow.selector, maxFee, required));
        consumer.request(accountId, agentId, "x", 0, callbackGasLimit, maxFee);
    }

    function testFuzz_ConfigChangeNeverBreaksSettlement(FeeCase memory before, FeeCase memory later) public {
        _boundCase(before);
        _boundCase(later);
        _configure(before);
        uint96 maxFee = uint96(router.estimateFee(agentId, before.callbackGasLimit) + before.extra);
        _fund(accountId, maxFee);
        uint256 balanceBefore = _balanceOf(accountId);
        IAgentRouter.AgentRequest memory req = _request("x", before.callbackGasLimit, maxFee);
        _configure(later);

        vm.recordLogs();
        router.fulfill(_fulfillment(req, OUTPUT, before.status, new uint256[](0)));
        (uint256 totalFee,,) = _settlementFromLogs();
        assertLe(totalFee, maxFee, "within maxFee");
        assertEq(balanceBefore - _balanceOf(accountId), totalFee, "charged the total");
        assertEq(
            router.earnings(agentOwner) + router.workerFees(req.worker) + router.protocolFees()
                + router.earnings(address(this)),
            totalFee,
            "credits add up"
        );
    }

    // ---------------------------------------------------------------- signatures

    function testFuzz_OtherKeyIsWrongSigner(uint256 key) public {
        key = bound(key, 1, SECP256K1_N - 1);
        IAgentRouter.AgentRequest memory req = _request();
        vm.assume(vm.addr(key) != req.worker);
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.signature = _sign(key, req, OUTPUT, 0, f.subAgentIds);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, vm.addr(key), req.worker));
        router.fulfill(f);
    }

    function testFuzz_RandomSignatureBytesRevert(bytes32 r, bytes32 s, uint8 v) public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.signature = abi.encodePacked(r, s, v);
        _expectRejected(f);
        router.fulfill(f);
    }

    function testFuzz_RandomLengthSignatureReverts(bytes memory signature) public {
        vm.assume(signature.length != 65);
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.signature = signature;
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, address(0), req.worker));
        router.fulfill(f);
    }

    function testFuzz_TamperedOutputReverts(bytes memory tampered) public {
        vm.assume(keccak256(tampered) != keccak256(OUTPUT));
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        f.output = tampered;
        _expectRejected(f);
        router.fulfill(f);
    }

    function testFuzz_TamperedStatusOrSubAgentsRevert(uint16 status, uint256 subAgentId) public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory f = _fulfillment(req, OUTPUT);
        if (status == 0) {
            f.subAgentIds = _ids(subAgentId);
            f.subAgentPrices = new uint96[](1);
        } else {
            f.status = status;
        }
        _expectRejected(f);
        router.fulfill(f);
    }

    function testFuzz_EquivocationNeedsTheWorkersKey(uint256 key, bytes memory otherOutput) public {
        key = bound(key, 1, SECP256K1_N - 1);
        vm.assume(keccak256(otherOutput) != keccak256(OUTPUT));
        IAgentRouter.AgentRequest memory req = _request();
        vm.assume(vm.addr(key) != req.worker);
        IAgentRouter.SignedAnswer memory honest = _answer(workerKeyOf[req.worker], req, OUTPUT, 0);
        IAgentRouter.SignedAnswer memory forged = _answer(key, req, otherOutput, 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, req.id, vm.addr(key), req.worker));
        router.reportEquivocation(req, honest, forged);
    }

    /// @dev Expects WrongSigner with the address the router will recover (zero when malformed).
    function _expectRejected(IAgentRouter.Fulfillment memory f) internal {
        (address signer,,) =
            ECDSA.tryRecover(_digest(f.request, f.output, f.status, f.subAgentIds, f.subAgentPrices), f.signature);
        vm.assume(signer != f.request.worker);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.WrongSigner.selector, f.request.id, signer, f.request.worker));
    }
}
