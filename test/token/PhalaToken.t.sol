// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";

contract PhalaTokenTest is Test {
    PhalaToken internal token;
    address internal holder = address(0xA11CE);

    function setUp() public {
        token = new PhalaToken(holder);
    }

    function test_MintsFixedSupplyOnce() public view {
        assertEq(token.totalSupply(), 1_000_000_000 ether, "supply");
        assertEq(token.balanceOf(holder), 1_000_000_000 ether, "holder balance");
    }

    function testFuzz_TransferKeepsSupply(address to, uint256 amount) public {
        vm.assume(to != address(0) && to != holder);
        amount = bound(amount, 0, token.TOTAL_SUPPLY());
        vm.prank(holder);
        token.transfer(to, amount);
        assertEq(token.balanceOf(to) + token.balanceOf(holder), token.TOTAL_SUPPLY(), "conserved");
    }

    function test_PermitSetsAllowance() public {
        uint256 ownerKey = 0xB0B;
        address owner = vm.addr(ownerKey);
        vm.prank(holder);
        token.transfer(owner, 10 ether);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                address(this),
                5 ether,
                token.nonces(owner),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, digest);
        token.permit(owner, address(this), 5 ether, deadline, v, r, s);
        assertEq(token.allowance(owner, address(this)), 5 ether, "allowance");
    }

    function test_VotesFollowDelegation() public {
        vm.prank(holder);
        token.delegate(holder);
        vm.roll(block.number + 1);
        assertEq(token.getVotes(holder), token.TOTAL_SUPPLY(), "votes");
    }
}
