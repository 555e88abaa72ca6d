// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {AgentRegistry} from "../../contracts/agents/AgentRegistry.sol";
import {IAgentRegistry} from "../../contracts/interfaces/IAgentRegistry.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";

contract AgentRegistryTest is Test {
    AgentRegistry internal agents;
    address internal constant OWNER = address(0xA6E470);
    address internal constant STRANGER = address(0x5742);
    address internal constant CALLER = address(0xCA11);
    bytes32 internal constant CODE = keccak256("code-v1");
    bytes32 internal constant MEASUREMENT = keccak256("runtime-v1");
    uint96 internal constant PRICE = 2 ether;
    uint256 internal id;

    function setUp() public {
        agents = new AgentRegistry();
        id = _register(new bytes32[](0), true);
    }

    function _register(bytes32[] memory measurements, bool open) internal returns (uint256) {
        vm.prank(OWNER);
        return agents.registerAgent(CODE, "ipfs://code-v1", PRICE, measurements, open);
    }

    function _notOwner() internal view returns (bytes memory) {
        return abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, STRANGER);
    }

    // ---------------------------------------------------------------- register

    function test_RegisterStoresEverything() public {
        bytes32[] memory measurements = new bytes32[](1);
        measurements[0] = MEASUREMENT;
        vm.expectEmit();
        emit IAgentRegistry.AgentRegistered(2, OWNER, PRICE, false);
        vm.expectEmit();
        emit IAgentRegistry.AgentMeasurementPolicyUpdated(2, false);
        vm.expectEmit();
        emit IAgentRegistry.AgentMeasurementAllowed(2, MEASUREMENT, true);
        vm.expectEmit();
        emit IAgentRegistry.AgentCodeUpdated(2, 1, CODE, "ipfs://code-v1");
        uint256 second = _register(measurements, false);

        assertEq(second, 2, "id");
        assertEq(agents.agentCount(), 2, "count");
        AgentRegistry.Agent memory agent = agents.agentOf(second);
        assertEq(agent.owner, OWNER, "owner");
        assertEq(agent.price, PRICE, "price");
        assertEq(agent.version, 1, "version");
        assertEq(agent.codeHash, CODE, "code");
        assertFalse(agent.paused, "not paused");
        assertFalse(agent.openToAllCallers, "allowlist");
        assertFalse(agent.anyMeasurement, "own measurements");
        assertTrue(agents.isMeasurementAllowed(second, MEASUREMENT), "allowed");
        assertFalse(agents.isMeasurementAllowed(second, keccak256("other")), "others not");
        (bytes32 codeHash, string memory uri) = agents.codeOf(second, 1);
        assertEq(codeHash, CODE, "code v1");
        assertEq(bytes(uri), bytes("ipfs://code-v1"), "uri v1");
    }

    function test_EmptyMeasurementListMeansAnyApproved() public view {
        assertTrue(agents.agentOf(id).anyMeasurement, "any");
        assertTrue(agents.isMeasurementAllowed(id, keccak256("whatever")), "allowed");
    }

    function test_RevertWhen_RegisterWithBadCode() public {
        vm.expectRevert(IAgentRegistry.EmptyCodeHash.selector);
        agents.registerAgent(bytes32(0), "ipfs://x", PRICE, new bytes32[](0), true);
        vm.expectRevert(IAgentRegistry.EmptyCodeURI.selector);
        agents.registerAgent(CODE, "", PRICE, new bytes32[](0), true);
        bytes32[] memory measurements = new bytes32[](1);
        vm.expectRevert(ICommonErrors.ZeroMeasurement.selector);
        agents.registerAgent(CODE, "ipfs://x", PRICE, measurements, true);
    }

    // ---------------------------------------------------------------- code versions

    function test_UpdateCodeKeepsOldVersions() public {
        bytes32 v2 = keccak256("code-v2");
        vm.expectEmit();
        emit IAgentRegistry.AgentCodeUpdated(id, 2, v2, "ipfs://code-v2");
        vm.prank(OWNER);
        agents.updateCode(id, v2, "ipfs://code-v2");

        (uint32 version, bytes32 codeHash, string memory uri) = agents.currentCode(id);
        assertEq(version, 2, "version");
        assertEq(codeHash, v2, "current code");
        assertEq(bytes(uri), bytes("ipfs://code-v2"), "current uri");
        (bytes32 old,) = agents.codeOf(id, 1);
        assertEq(old, CODE, "v1 kept for pending requests");
        assertEq(agents.agentOf(id).codeHash, v2, "agent code hash");
    }

    function test_RevertWhen_UpdateCodeInvalid() public {
        vm.startPrank(OWNER);
        vm.expectRevert(IAgentRegistry.EmptyCodeHash.selector);
        agents.updateCode(id, bytes32(0), "ipfs://x");
        vm.expectRevert(IAgentRegistry.EmptyCodeURI.selector);
        agents.updateCode(id, CODE, "");
        vm.stopPrank();
        vm.expectRevert(_notOwner());
        vm.prank(STRANGER);
        agents.updateCode(id, CODE, "ipfs://x");
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.UnknownAgent.selector, uint256(9)));
        agents.updateCode(9, CODE, "ipfs://x");
    }

    function test_RevertWhen_CodeVersionUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.UnknownCodeVersion.selector, id, uint32(2)));
        agents.codeOf(id, 2);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.UnknownCodeVersion.selector, id, uint32(0)));
        agents.codeOf(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.UnknownAgent.selector, uint256(9)));
        agents.currentCode(9);
    }

    // ---------------------------------------------------------------- price, pause, callers

    function test_SetPrice() public {
        vm.expectEmit();
        emit IAgentRegistry.AgentPriceUpdated(id, 5 ether);
        vm.prank(OWNER);
        agents.setPrice(id, 5 ether);
        (address owner, uint96 price) = agents.ownerAndPrice(id);
        assertEq(owner, OWNER, "owner");
        assertEq(price, 5 ether, "price");
        vm.expectRevert(_notOwner());
        vm.prank(STRANGER);
        agents.setPrice(id, 0);
    }

    function test_OwnerAndPriceOfUnknownIsZero() public view {
        (address owner, uint96 price) = agents.ownerAndPrice(9);
        assertEq(owner, address(0), "no owner");
        assertEq(price, 0, "no price");
    }

    function test_PauseAndUnpause() public {
        vm.expectEmit();
        emit IAgentRegistry.AgentPaused(id);
        vm.prank(OWNER);
        agents.pause(id);
        assertTrue(agents.agentOf(id).paused, "paused");
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentIsPaused.selector, id));
        agents.requestTerms(id, CALLER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentIsPaused.selector, id));
        vm.prank(OWNER);
        agents.pause(id);

        vm.expectEmit();
        emit IAgentRegistry.AgentUnpaused(id);
        vm.prank(OWNER);
        agents.unpause(id);
        agents.requestTerms(id, CALLER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentNotPaused.selector, id));
        vm.prank(OWNER);
        agents.unpause(id);
    }

    function test_RevertWhen_PauseByStranger() public {
        vm.startPrank(STRANGER);
        vm.expectRevert(_notOwner());
        agents.pause(id);
        vm.expectRevert(_notOwner());
        agents.unpause(id);
        vm.stopPrank();
    }

    function test_CallerPolicy() public {
        vm.expectEmit();
        emit IAgentRegistry.AgentCallerPolicyUpdated(id, false);
        vm.prank(OWNER);
        agents.setOpenToAllCallers(id, false);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.CallerNotAllowed.selector, id, CALLER));
        agents.requestTerms(id, CALLER);

        vm.expectEmit();
        emit IAgentRegistry.AgentCallerAllowed(id, CALLER, true);
        vm.prank(OWNER);
        agents.setCallerAllowed(id, CALLER, true);
        assertTrue(agents.isCallerAllowed(id, CALLER), "allowed");
        IAgentRegistry.RequestTerms memory terms = agents.requestTerms(id, CALLER);
        assertEq(terms.owner, OWNER, "owner");
        assertEq(terms.price, PRICE, "price");
        assertEq(terms.codeHash, CODE, "code");
        assertEq(terms.version, 1, "version");
        assertTrue(terms.anyMeasurement, "any measurement");
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.CallerNotAllowed.selector, id, STRANGER));
        agents.requestTerms(id, STRANGER);

        vm.prank(OWNER);
        agents.setCallerAllowed(id, CALLER, false);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.CallerNotAllowed.selector, id, CALLER));
        agents.requestTerms(id, CALLER);

        vm.prank(OWNER);
        agents.setOpenToAllCallers(id, true);
        agents.requestTerms(id, STRANGER);
    }

    function test_RevertWhen_CallerPolicyByStranger() public {
        vm.startPrank(STRANGER);
        vm.expectRevert(_notOwner());
        agents.setOpenToAllCallers(id, false);
        vm.expectRevert(_notOwner());
        agents.setCallerAllowed(id, STRANGER, true);
        vm.stopPrank();
    }

    function test_RevertWhen_RequestTermsOfUnknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.UnknownAgent.selector, uint256(9)));
        agents.requestTerms(9, CALLER);
    }

    // ---------------------------------------------------------------- measurements

    function test_MeasurementPolicy() public {
        vm.expectEmit();
        emit IAgentRegistry.AgentMeasurementPolicyUpdated(id, false);
        vm.prank(OWNER);
        agents.setAnyMeasurement(id, false);
        assertFalse(agents.isMeasurementAllowed(id, MEASUREMENT), "closed");
        assertFalse(agents.requestTerms(id, CALLER).anyMeasurement, "terms follow");

        vm.expectEmit();
        emit IAgentRegistry.AgentMeasurementAllowed(id, MEASUREMENT, true);
        vm.prank(OWNER);
        agents.setMeasurementAllowed(id, MEASUREMENT, true);
        assertTrue(agents.isMeasurementAllowed(id, MEASUREMENT), "allowed");

        vm.prank(OWNER);
        agents.setMeasurementAllowed(id, MEASUREMENT, false);
        assertFalse(agents.isMeasurementAllowed(id, MEASUREMENT), "withdrawn");

        vm.expectRevert(ICommonErrors.ZeroMeasurement.selector);
        vm.prank(OWNER);
        agents.setMeasurementAllowed(id, bytes32(0), true);
    }

    function test_RevertWhen_MeasurementPolicyByStranger() public {
        vm.startPrank(STRANGER);
        vm.expectRevert(_notOwner());
        agents.setAnyMeasurement(id, false);
        vm.expectRevert(_notOwner());
        agents.setMeasurementAllowed(id, MEASUREMENT, true);
        vm.stopPrank();
    }

    function test_UnknownAgentAllowsNoMeasurement() public view {
        assertFalse(agents.isMeasurementAllowed(9, MEASUREMENT), "unknown");
    }

    // ---------------------------------------------------------------- secrets

    function test_SetSecrets() public {
        bytes memory ciphertext = hex"c1f3e7";
        vm.expectEmit();
        emit IAgentRegistry.AgentSecretsUpdated(id, 4, keccak256(ciphertext));
        vm.prank(OWNER);
        agents.setSecrets(id, 4, ciphertext);
        (uint32 epoch, bytes memory stored) = agents.secretsOf(id);
        assertEq(epoch, 4, "epoch");
        assertEq(stored, ciphertext, "ciphertext");

        vm.expectRevert(_notOwner());
        vm.prank(STRANGER);
        agents.setSecrets(id, 5, "");
    }

    function test_SecretsOfAgentWithoutSecretsAreEmpty() public view {
        (uint32 epoch, bytes memory stored) = agents.secretsOf(id);
        assertEq(epoch, 0, "epoch");
        assertEq(stored.length, 0, "empty");
    }

    // ---------------------------------------------------------------- ownership

    function test_OwnershipIsTwoStep() public {
        vm.expectEmit();
        emit IAgentRegistry.AgentOwnershipTransferStarted(id, OWNER, STRANGER);
        vm.prank(OWNER);
        agents.transferAgentOwnership(id, STRANGER);
        assertEq(agents.agentOf(id).owner, OWNER, "unchanged until accepted");
        assertEq(agents.agentOf(id).pendingOwner, STRANGER, "pending");

        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotPendingAgentOwner.selector, id, CALLER));
        vm.prank(CALLER);
        agents.acceptAgentOwnership(id);

        vm.expectEmit();
        emit IAgentRegistry.AgentOwnershipTransferred(id, OWNER, STRANGER);
        vm.prank(STRANGER);
        agents.acceptAgentOwnership(id);
        assertEq(agents.agentOf(id).owner, STRANGER, "new owner");
        assertEq(agents.agentOf(id).pendingOwner, address(0), "pending cleared");
        assertEq(agents.requestTerms(id, CALLER).owner, STRANGER, "new owner gets paid");

        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, OWNER));
        vm.prank(OWNER);
        agents.setPrice(id, 0);
    }

    function test_OwnershipTransferCanBeCancelled() public {
        vm.startPrank(OWNER);
        agents.transferAgentOwnership(id, STRANGER);
        agents.transferAgentOwnership(id, address(0));
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotPendingAgentOwner.selector, id, STRANGER));
        vm.prank(STRANGER);
        agents.acceptAgentOwnership(id);
    }

    function test_RevertWhen_TransferByStrangerOrUnknown() public {
        vm.expectRevert(_notOwner());
        vm.prank(STRANGER);
        agents.transferAgentOwnership(id, STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotPendingAgentOwner.selector, uint256(9), STRANGER));
        vm.prank(STRANGER);
        agents.acceptAgentOwnership(9);
    }
}
