import CanalCNI
import Testing

@Suite struct CNIVersionTests {
    @Test func supportedVersionsInOrder() {
        #expect(CNIVersion.supported.map(\.description) == ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"])
        #expect(CNIVersion("")?.description == "0.2.0")
        #expect(CNIVersion("9.9.9")?.isSupported == false)
        #expect(CNIVersion("1.0") == nil)
    }
}
