import Foundation
import MelissaConfig
import MelissaFlavors
import MelissaMaximum
import XCTest

/// `server_class` is looked up in a registry, and each flavor validates its own section with
/// key paths: what a config file meets in `melissa-launcher` and `melissa-server`.
final class FlavorRegistryTests: XCTestCase {
    /// A small valid study for `serverClass` with `extra` top-level sections (JSON text).
    func config(serverClass: String?, extra: String = "", studyExtra: String = "") -> String {
        """
        {
            "output_dir": "out",
            \(serverClass.map { "\"server_class\": \"\($0)\"," } ?? "")
            "study_options": {"field_names": ["u"], "parameter_sweep_size": 6, "nb_parameters": 2,
                              "nb_time_steps": 3, "l_bounds": [0, 0], "u_bounds": [1, 1]\(studyExtra)},
            \(extra)
            "launcher_config": {"scheduler": "openmpi"},
            "client_config": {"executable_command": "./sim"}
        }
        """
    }

    func parse(_ text: String, flavors: FlavorRegistry = Flavors.registry) throws(ConfigLoadError) -> StudyConfig {
        try StudyConfig.parse(data: Data(text.utf8), source: "test.json", flavors: flavors)
    }

    /// The issues of a config that must be refused, as "key path: message" lines.
    func issues(_ text: String, flavors: FlavorRegistry = Flavors.registry) -> [String] {
        do throws(ConfigLoadError) {
            _ = try parse(text, flavors: flavors)
            XCTFail("config accepted")
            return []
        } catch {
            guard case let .invalid(configError) = error else {
                XCTFail("not a validation error: \(error)")
                return []
            }
            return configError.issues.map { "\($0.keyPath): \($0.message)" }
        }
    }

    func testTheShippedFlavorsAreRegisteredDefaultFirst() {
        XCTAssertEqual(Flavors.registry.names, ["sensitivity-analysis", "maximum", "deep-learning"])
        XCTAssertEqual(FlavorRegistry.defaultName, "sensitivity-analysis")
        XCTAssertNotNil(Flavors.named("maximum"))
        XCTAssertNil(Flavors.named("max"))
    }

    func testMaximumReadsItsOwnSection() throws {
        let study = try parse(config(serverClass: "maximum", extra: #""maximum_config": {"checkpoint_interval": 2.5},"#))
        XCTAssertEqual(study.serverClass, "maximum")
        XCTAssertEqual(study.settings(as: MaximumSettings.self), MaximumSettings(checkpointInterval: 2.5))
        XCTAssertEqual(study.flavorSettings.checkpointInterval, 2.5)
        XCTAssertNil(study.settings(as: SAConfig.self))
        // An independent plan: one simulation per draw, jobs by group_size.
        XCTAssertEqual(study.simulationCount, 6)
        XCTAssertEqual(study.samplingPlan, .independent)
    }

    func testAnAbsentSectionMeansEveryDefault() throws {
        let study = try parse(config(serverClass: "maximum"))
        XCTAssertEqual(study.settings(as: MaximumSettings.self), MaximumSettings())
        XCTAssertNil(study.flavorSettings.checkpointInterval)
    }

    func testLeavingServerClassOutPicksSensitivityAnalysis() throws {
        let study = try parse(config(serverClass: nil, extra: #""sa_config": {"sobol_indices": true},"#))
        XCTAssertEqual(study.serverClass, "sensitivity-analysis")
        XCTAssertEqual(study.saConfig.sobolIndices, true)
        XCTAssertEqual(study.samplingPlan, SamplingPlan(membersPerDraw: 4, drawWidth: 2, joined: true,
                                                        roles: ["A", "B", "C1", "C2"]))
        XCTAssertEqual(study.simulationCount, 24)
        XCTAssertEqual(study.jobGroupSize, 4)
    }

    func testAnUnknownServerClassGetsTheNearestRegisteredName() {
        XCTAssertEqual(issues(config(serverClass: "maximun")),
                       ["server_class: unknown value \"maximun\"; did you mean 'maximum'? valid values: 'sensitivity-analysis', 'maximum', 'deep-learning'"])
    }

    func testAConfigReadWithoutAFlavorsRegistryDoesNotKnowIt() {
        // MelissaConfig alone knows only what it is given: the built-in registry has no maximum.
        let found = issues(config(serverClass: "maximum", extra: #""maximum_config": {},"#), flavors: .builtIn)
        XCTAssertEqual(found.count, 2, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("maximum_config: unknown key") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("server_class: unknown value \"maximum\"") }, "\(found)")
    }

    func testAnotherFlavorsSectionIsRefusedNotIgnored() {
        XCTAssertEqual(issues(config(serverClass: "maximum", extra: #""sa_config": {"checkpoint_interval": 1},"#)),
                       ["sa_config: belongs to server_class 'sensitivity-analysis', but this study's server_class is 'maximum'; its settings go in maximum_config"])
        XCTAssertEqual(issues(config(serverClass: nil, extra: #""maximum_config": {},"#)),
                       ["maximum_config: belongs to server_class 'maximum', but this study's server_class is 'sensitivity-analysis'; its settings go in sa_config"])
    }

    func testAFlavorSectionsKeysAndValuesAreCheckedWithKeyPaths() {
        XCTAssertEqual(issues(config(serverClass: "maximum", extra: #""maximum_config": {"checkpoint_intervall": 1},"#)),
                       ["maximum_config.checkpoint_intervall: unknown key; did you mean 'checkpoint_interval'?"])
        XCTAssertEqual(issues(config(serverClass: "maximum", extra: #""maximum_config": {"checkpoint_interval": -1},"#)),
                       ["maximum_config.checkpoint_interval: must be greater than 0 and at most 1000000, got -1"])
        XCTAssertEqual(issues(config(serverClass: "maximum", extra: #""maximum_config": [1],"#)),
                       ["maximum_config: expected an object, got an array of 1 element"])
    }

    func testTheGenericPlanRulesApplyToAFlavorThatDoesNotCheckThemItself() {
        // A test flavor whose draws make 3 joined simulations, like a pick-freeze design of its own.
        struct Triples: FlavorSettings, Equatable {
            func samplingPlan(nbParameters: Int) -> SamplingPlan {
                SamplingPlan(membersPerDraw: 3, drawWidth: 1, joined: true)
            }
        }
        let registry = FlavorRegistry([FlavorSpec(name: "triples", summary: "test", read: { _, _ in Triples() })])
        XCTAssertEqual(issues(config(serverClass: "triples", studyExtra: #", "group_size": 2"#), flavors: registry),
                       ["study_options.group_size: must equal 3 for server_class 'triples' (the simulations of one draw run as one job), got 2; leave group_size out to get this value"])
        let study = try? parse(config(serverClass: "triples"), flavors: registry)
        XCTAssertEqual(study?.simulationCount, 18)
        XCTAssertEqual(study?.jobGroupSize, 3)
    }

    func testAFlavorReportsStudyOptionsItsRulesRefuse() {
        let registry = FlavorRegistry([FlavorSpec(name: "one-step", summary: "test", sectionName: "one_config",
                                                  sectionKeys: [], read: { section, study in
            if let p = study.nbParameters, p > 1 {
                section.reportStudyOption("nb_parameters", "this flavor takes one parameter, got \(p)")
            }
            return NoFlavorSettings()
        })])
        XCTAssertEqual(issues(config(serverClass: "one-step"), flavors: registry),
                       ["study_options.nb_parameters: this flavor takes one parameter, got 2"])
    }
}
