import CanalDatastore
@testable import CanalIPAM
import CanalModel
import Foundation
import Testing

@Suite("Calico JSON interop")
struct BlockJSONTests {
    @Test("a block written by Calico reads back; ours carries Calico's fields")
    func calicoBlock() throws {
        let calico = """
            {"cidr":"10.0.0.0/30","affinity":"host:host-a","affinity_claim_time":"2024-05-01T10:00:00Z","allocations":[0,null,0,1],\
            "unallocated":[1],"attributes":[{"handle_id":"k8s-pod-network.abc","secondary":{"namespace":"ns","node":"host-a","pod":"p"}},\
            {"handle_id":"ipip-tunnel-addr-host-a","secondary":null}],"sequenceNumber":1700000000000000002,\
            "sequenceNumberForAllocation":{"0":1700000000000000000,"2":1700000000000000000,"3":1700000000000000001},"deleted":false}
            """
        let block = try AllocationBlock(json: Array(calico.utf8))
        #expect(block.cidr == cidr("10.0.0.0/30"))
        #expect(block.host == "host-a")
        #expect(block.allocations == [0, nil, 0, 1])
        #expect(block.unallocated == [1])
        #expect(block.attributes[0].handleID == "k8s-pod-network.abc")
        #expect(block.attributes[0].attributes["pod"] == "p")
        #expect(block.attributes[1].attributes.isEmpty)
        #expect(block.sequenceNumber == 1_700_000_000_000_000_002)
        #expect(block.sequenceNumberForAllocation[3] == 1_700_000_000_000_000_001)
        #expect(block.attribute(of: ip("10.0.0.2"))?.handleID == "k8s-pod-network.abc")

        // Written back: Calico's field names, in Go's struct order, and it parses to the same block.
        let text = String(decoding: block.jsonBytes, as: UTF8.self)
        let keys = ["\"cidr\":", "\"affinity\":", "\"affinity_claim_time\":", "\"allocations\":", "\"unallocated\":", "\"attributes\":",
                    "\"sequenceNumber\":", "\"sequenceNumberForAllocation\":", "\"deleted\":"]
        let positions = keys.map { text.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil }, "\(text)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(text.contains("\"handle_id\":\"k8s-pod-network.abc\",\"secondary\":{\"namespace\":\"ns\",\"node\":\"host-a\",\"pod\":\"p\"}"))
        #expect(try AllocationBlock(json: block.jsonBytes) == block)
        // Through Foundation's JSON parser as well (a third reader).
        let object = try JSONSerialization.jsonObject(with: Data(block.jsonBytes)) as! [String: Any]
        #expect(object["allocations"] as? [Any] != nil && (object["unallocated"] as? [Int]) == [1])
    }

    @Test("sequenceNumberForAllocation keys in Go's string order, for dense and sparse maps", arguments: [8, 64, 256, 1024, 8192])
    func sequenceKeyOrder(size: Int) throws {
        let prefix = 32 - Int(log2(Double(size)))
        var block = AllocationBlock(cidr: CIDR("10.0.0.0/\(prefix)")!, affinity: nil, sequenceNumber: 7)
        for ordinals in [Array(0..<size), [0, 1, 2, size - 1, size / 2, 10 % size, 100 % size, 9 % size]] {
            block.sequenceNumberForAllocation = [:]
            for o in ordinals { block.sequenceNumberForAllocation[o] = UInt64(o) * 3 }
            let text = String(decoding: block.jsonBytes, as: UTF8.self)
            let section = try #require(text.split(separator: "\"sequenceNumberForAllocation\":{").last?.split(separator: "}").first)
            let pairs = section.split(separator: ",").map { $0.split(separator: ":") }
            let keys = pairs.map { String($0[0].dropFirst().dropLast()) }
            #expect(keys == Set(ordinals).map(String.init).sorted())
            #expect(pairs.allSatisfy { UInt64($0[1]) == UInt64($0[0].dropFirst().dropLast())! * 3 })
            let back = try AllocationBlock(json: block.jsonBytes)
            #expect(back == block)
        }
    }

    @Test("affinities, handles and config use Calico's JSON")
    func records() throws {
        #expect(String(decoding: BlockAffinity(state: .confirmed).jsonBytes, as: UTF8.self) == #"{"state":"confirmed","deleted":false}"#)
        #expect(try BlockAffinity(json: []).state == .confirmed)
        #expect(try BlockAffinity(json: Array(#"{"state":"pending","deleted":false}"#.utf8)).state == .pending)
        let handle = IPAMHandle(blocks: ["10.0.0.64/26": 1, "10.0.0.0/26": 2])
        #expect(String(decoding: handle.jsonBytes, as: UTF8.self) == #"{"block":{"10.0.0.0/26":2,"10.0.0.64/26":1},"deleted":false}"#)
        #expect(try IPAMHandle(json: handle.jsonBytes) == handle)
        let config = IPAMConfig(strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 4)
        #expect(String(decoding: config.jsonBytes, as: UTF8.self) == #"{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":4}"#)
        #expect(try IPAMConfig(json: Array(#"{"strict_affinity":true}"#.utf8)) == IPAMConfig(strictAffinity: true, autoAllocateBlocks: false))
        #expect(IPAMKeys.block(cidr("10.0.0.0/26")) == "/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26")
        #expect(IPAMKeys.block(cidr("fd00::/122")) == "/calico/ipam/v2/assignment/ipv6/block/fd00::-122")
        #expect(IPAMKeys.affinity(host: "n1", cidr: cidr("10.0.0.0/26")) == "/calico/ipam/v2/host/n1/ipv4/block/10.0.0.0-26")
        #expect(IPAMKeys.parseAffinity("/calico/ipam/v2/host/n1/ipv6/block/fd00::-122")! == ("n1", cidr("fd00::/122")))
    }

    @Test("release goes to the tail, attributes are compacted, sequence numbers recorded")
    func blockOperations() {
        var block = AllocationBlock(cidr: cidr("10.0.0.0/29"), affinity: "host:a", sequenceNumber: 100)
        let first = block.autoAssign(count: 2, handle: "h1", attributes: ["pod": "a"], reserved: { _ in false })
        block.sequenceNumber += 1
        let second = block.autoAssign(count: 1, handle: "h2", attributes: [:], reserved: { $0 == ip("10.0.0.2") })
        #expect(first == [0, 1])
        #expect(second == [3])
        #expect(block.unallocated == [2, 4, 5, 6, 7])
        #expect(block.sequenceNumberForAllocation == [0: 100, 1: 100, 3: 101])
        #expect(block.attributes.count == 2)
        block.release(ordinals: [0, 1], clearSequenceNumbers: true)
        #expect(block.unallocated == [2, 4, 5, 6, 7, 0, 1])
        #expect(block.attributes.map(\.handleID) == ["h2"])
        #expect(block.allocations[3] == 0)
        #expect(!block.isEmpty)
    }
}
