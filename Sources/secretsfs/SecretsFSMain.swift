import SecretsCLI

@main
enum SecretsFSMain {
    static func main() async {
        await SecretsFSCommand.main()
    }
}
