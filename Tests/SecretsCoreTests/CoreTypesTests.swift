import Foundation
import SecretsCore
import Testing

@Suite struct ListingTests {
    @Test func childrenOfTheRootAndOfAFolder() {
        let paths = [["a", "b", "c"], ["a", "d"], ["e"], ["a"]]
        #expect(Listing.children(of: .root, among: paths) == Listing(secrets: ["e", "a"], folders: ["a"]))
        #expect(Listing.children(of: path("a"), among: paths) == Listing(secrets: ["d"], folders: ["b"]))
        #expect(Listing.children(of: path("a/b"), among: paths) == Listing(secrets: ["c"]))
        #expect(Listing.children(of: path("zzz"), among: paths).isEmpty)
    }

    @Test func unshowableNamesAreSkippedAndReported() {
        var skipped: [String] = []
        let paths = [["ok"], [".hidden"], ["a", ""], ["a", "..", "b"], ["fine", "x"]]
        let listing = Listing.children(of: .root, among: paths) { skipped.append($0) }
        #expect(listing == Listing(secrets: ["ok"], folders: ["fine"]))
        #expect(skipped.sorted() == [".hidden", "a/", "a/../b"])
    }
}

@Suite struct VersionInfoTests {
    @Test func labelsTheNewestCurrentAndTheOneBeforePrevious() {
        let three = VersionInfo.labellingCurrentAndPrevious((1...3).map { VersionInfo(id: "\($0)", createdAt: nil) })
        #expect(three.map(\.labels) == [[], ["previous"], ["current"]])
        let one = VersionInfo.labellingCurrentAndPrevious([VersionInfo(id: "1", createdAt: nil)])
        #expect(one.map(\.labels) == [["current"]])
        #expect(VersionInfo.labellingCurrentAndPrevious([]).isEmpty)
    }
}

@Suite struct SecretErrorTests {
    struct Foreign: Error, CustomStringConvertible {
        var description: String { "body: PLANTED-RESPONSE" }
    }

    @Test func foreignErrorsBecomeInternalWithoutTheirText() {
        let error = SecretError.from(Foreign())
        #expect(error.code == .internal)
        #expect(!error.description.contains("PLANTED"))
        let own = SecretError(.notFound, "gone")
        #expect(SecretError.from(own) == own)
    }

    /// The cause is kept for whoever handles the error, and shows nowhere a value could leak through
    /// it: not in the description, not in `dump`, not in string interpolation, not in `==`.
    @Test func theCauseIsKeptButNeverPrinted() {
        let error = SecretError.from(Foreign())
        #expect(error.cause is Foreign)
        var dumped = ""
        dump(error, to: &dumped)
        for text in [error.description, "\(error)", String(reflecting: error), dumped] {
            #expect(!text.contains("PLANTED"), "\(text)")
        }
        #expect(error == SecretError(.internal, error.message), "the cause is not compared")
        let wrapped = SecretError(.unavailable, "Vault is unavailable: timed out", cause: Foreign()).at(path("a"))
        #expect(wrapped.cause is Foreign, "at(_:) keeps the cause")
        #expect(wrapped.description == "Vault is unavailable: timed out (a)")
    }

    @Test func atSetsThePathOnlyOnce() {
        let first = SecretError(.notFound, "gone").at(path("a"))
        #expect(first.path == path("a"))
        #expect(first.at(path("b")).path == path("a"))
        #expect(first.description == "gone (a)")
        #expect(SecretError(.notFound, "gone").description == "gone")
    }

    @Test func codesHaveStableNames() {
        #expect(SecretError.Code.notFound.description == "not_found")
        #expect(SecretError.Code.unavailable.description == "unavailable")
        #expect(SecretError.Code.permissionDenied.description == "permission_denied")
    }
}

@Suite struct ManualTimeSourceTests {
    @Test func movesOnlyWhenTold() {
        let clock = ManualTimeSource()
        let wall = clock.wallNow()
        #expect(clock.monotonicNow() == .zero)
        clock.advance(by: .milliseconds(1500))
        #expect(clock.monotonicNow() == .milliseconds(1500))
        #expect(clock.wallNow() == wall.addingTimeInterval(1.5))
        #expect(Duration.milliseconds(2500).seconds == 2.5)
        #expect(Duration.milliseconds(2500).nanoseconds == 2_500_000_000)
        #expect(Duration.microseconds(200).nanoseconds == 200_000)
    }
}
