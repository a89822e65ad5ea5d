import Foundation
import SecretsCore
import SecretsFileSystem
import Testing

@testable import SecretsCLI

@Suite struct ConfigRenderedFilesTests {
    @Test func aMissingTemplateFileIsNamedWithTheReason() throws {
        let file = try temporaryFile(
            """
            files:
              - path: app.conf
                template_file: /nonexistent/app.conf.tmpl
            """)
        #expect {
            try ConfigFile.load(file).renderedFiles()
        } throws: { error in
            let message = (error as? SecretError)?.message ?? ""
            return message.contains("/nonexistent/app.conf.tmpl") && message.contains("No such file or directory")
        }
    }

    @Test func filesAndPermissionsAreRead() throws {
        let file = try temporaryFile(
            """
            files:
              - path: app/db.json
                template: |
                  {"password": {{ "db/password"|secret|json }}}
                mode: 0440
                uid: 1000
                gid: 1001
              - path: pg/pgpass
                template: '{{ "db/username"|secret }}'
            permissions:
              - paths: ["ssh/*", "tls/*.key"]
                mode: 0400
                uid: 1000
              - paths: "shared/**"
                mode: 444
            """)
        let config = try ConfigFile.load(file)
        let files = try config.renderedFiles().all
        #expect(files.map(\.path.string) == ["app/db.json", "pg/pgpass"])
        #expect(files[0].mode == 0o440 && files[0].uid == 1000 && files[0].gid == 1001)
        #expect(files[1].mode == nil && files[1].uid == nil)
        #expect(files[0].template.inputs.map(\.description) == ["db/password"])
        let rules = try config.permissionRules().rules
        #expect(
            rules == [
                .init(paths: ["ssh/*", "tls/*.key"], mode: 0o400, uid: 1000), .init(paths: ["shared/**"], mode: 0o444),
            ])
    }

    @Test func aTemplateThatDoesNotParseIsOneLineWithLineAndColumn() throws {
        let file = try temporaryFile(
            """
            files:
              - path: ok
                template: '{{ "a"|secret }}'
              - path: broken
                template: |
                  line one
                  {% if "a"|secret %}never closed
            """)
        let config = try ConfigFile.load(file)
        #expect {
            try config.renderedFiles()
        } throws: { error in
            let message = "\(error)"
            return message.hasPrefix("config file \(file), line 7, column 10: template of broken: ")
                && !message.contains("\n")
        }
        // A template file's own lines and columns.
        let template = try temporaryFile("ok\n  {{ \"a\"|nosuchfilter }}\n")
        let other = try temporaryFile("files:\n  - path: t\n    template_file: \(template)\n")
        #expect {
            try ConfigFile.load(other).renderedFiles()
        } throws: { error in
            "\(error)".hasPrefix("\(template), line 2, column ")
        }
    }

    @Test func badShapesAreErrors() throws {
        for text in [
            "files: 3", "files:\n  - template: x", "files:\n  - path: a", "files:\n  - path: .hidden\n    template: x",
            "files:\n  - path: a\n    template: x\n    mode: 9", "files:\n  - path: a\n    template: x\n    uid: me",
            "files:\n  - path: a\n    template: x\n    color: red",
            "files:\n  - path: a\n    template: x\n  - path: a\n    template: y",
            "files:\n  - path: a\n    template: x\n    template_file: /nonexistent",
            "permissions: 3", "permissions:\n  - mode: 0400", "permissions:\n  - paths: [a]",
            "permissions:\n  - paths: [a]\n    mode: x",
        ] {
            let file = try temporaryFile(text)
            #expect(throws: SecretError.self, "\(text)") {
                try ConfigFile.load(file).checkStructuredKeys()
            }
        }
    }
}
