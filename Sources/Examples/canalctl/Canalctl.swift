import ArgumentParser

/// canalctl: calicoctl's job for Canal — manage and check Calico v3 resources.
@main
struct Canalctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canalctl",
        abstract: "Manage Canal (Calico v3) resources.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, SelectorCommand.self, CreateCommand.self, ApplyCommand.self, ReplaceCommand.self, DeleteCommand.self,
            GetCommand.self, PolicyCommand.self, BGPCommand.self, IpamCommand.self, FlannelCommand.self, KubernetesCommand.self,
        ]
    )
}
