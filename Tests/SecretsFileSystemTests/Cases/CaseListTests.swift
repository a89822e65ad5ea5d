import Testing

/// Every case of the list, in the order the table files hold them.
enum CaseList {
    static let all: [FileSystemCase] =
        LayoutCases.all + VersionCases.all + RotateCases.all + StatusCases.all + XattrCases.all + RefusalCases.all
        + PageCases.all
}

/// Runs the case list on the kernel-free mount. `scripts/test` runs this suite a second time on the
/// binary's executor (`SECRETSFS_TEST_EXECUTOR=event-loop`), so the list runs there too.
@Suite struct CaseListTests {
    @Test(arguments: CaseList.all)
    func theMountAnswersAsTheCaseSays(_ testCase: FileSystemCase) async {
        let failures = await Self.run(testCase) { step, outcome, check in
            // Whatever else it expects, an answer the mount makes never holds a value.
            let made = step.operation.answerIsMade
            guard let failure = check(made ? .all([step.expect, .lacksValues]) : step.expect, outcome) else {
                return nil
            }
            // A short made answer that holds no value (an xattr, a count) is shown, so that a step
            // that fails now and then says what it saw.
            if made, check(.lacksValues, outcome) == nil, case .bytes(let got) = outcome, got.count <= 40,
                let text = String(validating: got, as: UTF8.self), text.allSatisfy({ $0.isASCII && !$0.isNewline })
            {
                return "\(failure) (the answer: \"\(text)\")"
            }
            return failure
        }
        for failure in failures { Issue.record(Comment(rawValue: failure)) }
    }

    /// A case that cannot fail is no test: each step's expectation must notice when the answer it
    /// got is changed as a wrong mount would change it (`CaseOutcome.perturbed`).
    @Test func everyExpectationCanFail() async {
        for testCase in CaseList.all {
            let secret = testCase.setup.planted.first ?? Array("a-secret".utf8)
            let unnoticed = await Self.run(testCase) { step, outcome, check in
                outcome.perturbed(secret: secret).compactMap { wrong in
                    check(step.expect, wrong) == nil ? "\(step.operation) does not notice \(wrong)" : nil
                }.first
            }
            for failure in unnoticed { Issue.record(Comment(rawValue: "\(testCase.name): \(failure)")) }
        }
    }

    @Test func caseNamesAreUnique() {
        let names = CaseList.all.map(\.name)
        #expect(Set(names).count == names.count)
    }

    /// Performs the case's steps in order; `judge` is given each step, its outcome and a check of an
    /// outcome against an expectation as of that step, and returns a failure or nil.
    static func run(
        _ testCase: FileSystemCase,
        judge: (CaseStep, CaseOutcome, (CaseExpectation, CaseOutcome) -> String?) -> String?
    ) async -> [String] {
        let mount = CaseMount(testCase.setup)
        var context = CheckContext(secrets: testCase.setup.planted, inodes: [:])
        var failures: [String] = []
        for (index, step) in testCase.steps.enumerated() {
            let outcome = await mount.perform(step.operation, as: step.caller)
            let frozen = context
            if let failure = judge(step, outcome, { $0.mismatch($1, frozen) }) {
                failures.append("step \(index + 1), \(step.operation): \(failure)")
            }
            if case .bytes(let bytes) = outcome, !step.operation.answerIsMade { context.secrets.append(bytes) }
            if let tag = step.tag, case .attributes(let attributes) = outcome { context.inodes[tag] = attributes.inode }
        }
        return failures
    }
}
