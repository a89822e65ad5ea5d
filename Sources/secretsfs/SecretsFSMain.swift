import SecretsCLI

@main
enum SecretsFSMain {
    static func main() async {
        EventLoopExecutor.install()
        await SecretsFSCommand.main()
    }
}
