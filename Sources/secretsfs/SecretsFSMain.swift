import SecretsCLI
import SecretsExecutor

@main
enum SecretsFSMain {
    static func main() async {
        EventLoopExecutor.install()
        await SecretsFSCommand.main()
    }
}
