using EdgeAgent.Agent.Stacks;

namespace EdgeAgent.Agent.Tests.Stacks;

public sealed class ComposeParserTests
{
    private static readonly Dictionary<string, string> NoVariables = [];

    private static ComposeProject Parse(string yaml, Dictionary<string, string>? variables = null) =>
        ComposeParser.Parse(yaml, variables ?? NoVariables);

    private static IReadOnlyList<ComposeError> Errors(string yaml, Dictionary<string, string>? variables = null)
    {
        var act = () => ComposeParser.Parse(yaml, variables ?? NoVariables);
        return act.Should().Throw<ComposeValidationException>().Which.Errors;
    }

    [Fact]
    public void ParsesEverySupportedKey()
    {
        const string yaml = """
            version: "3.9"
            name: shop
            x-common: &common
              restart: unless-stopped
            services:
              web:
                <<: *common
                image: "nginx:${TAG:-1.25}"
                command: ["httpd", "-f", "-p", "80"]
                entrypoint: /bin/sh -c 'echo "hi there"'
                environment:
                  - MODE=prod
                  - FROM_VARS
                  - NOT_SET
                ports:
                  - "80"
                  - "8080:80"
                  - "127.0.0.1:8443:443/tcp"
                  - "127.0.0.1::9000"
                  - 53:53/udp
                  - "9000-9001:7000-7001"
                  - "[::1]:8081:81"
                  - target: 82
                    published: "8082"
                    host_ip: 127.0.0.1
                    protocol: udp
                    mode: host
                volumes:
                  - data:/data
                  - /srv/config:/etc/app:ro
                  - /anon
                  - type: volume
                    source: data
                    target: /more
                    read_only: true
                    volume:
                      nocopy: true
                  - type: bind
                    source: /srv/logs
                    target: /logs
                  - type: tmpfs
                    target: /scratch
                    tmpfs:
                      size: 64m
                networks:
                  front:
                    aliases: [www, shop-web]
                  back:
                labels:
                  com.example.tier: frontend
                depends_on:
                  db:
                    condition: service_healthy
                  cache:
                    condition: service_started
                healthcheck:
                  test: wget -q -O- http://localhost/
                  interval: 1m30s
                  timeout: 500ms
                  retries: 3
                  start_period: 10s
                working_dir: /app
                user: "1000:1000"
                hostname: web1
                stop_signal: SIGINT
                stop_grace_period: 1m
                deploy:
                  resources:
                    limits:
                      memory: 512m
                      cpus: "0.5"
                privileged: true
                cap_add: [NET_ADMIN]
                cap_drop: [MKNOD]
                extra_hosts:
                  - "host.one:10.0.0.1"
                  - "host.two=10.0.0.2"
                logging:
                  driver: json-file
                  options:
                    max-size: 10m
              db:
                image: postgres
                environment:
                  POSTGRES_PASSWORD: $$ecret
                  EMPTY:
                labels: ["a=1", "b"]
                healthcheck:
                  test: ["CMD", "pg_isready"]
                restart: on-failure:3
                networks: [back]
                x-note: ignored
              cache:
                image: redis
                healthcheck:
                  disable: true
                extra_hosts:
                  db.local: 10.0.0.3
            networks:
              front:
                driver: bridge
                labels:
                  - "com.example.net=front"
              back:
                name: shared-back
              outside:
                external: true
            volumes:
              data:
                driver: local
                labels: { com.example.vol: data }
              legacy:
                external:
                  name: old-volume
            """;

        var project = Parse(yaml, new() { ["FROM_VARS"] = "yes" });

        project.Name.Should().Be("shop");
        project.Services.Select(s => s.Name).Should().Equal("web", "db", "cache");
        var web = project.FindService("web")!;
        web.Image.Should().Be("nginx:1.25");
        web.Restart.Should().Be("unless-stopped", "the merge key brings it in");
        web.Command.Should().Equal("httpd", "-f", "-p", "80");
        web.Entrypoint.Should().Equal("/bin/sh", "-c", "echo \"hi there\"");
        web.Environment.Should().Equal(new Dictionary<string, string?> { ["FROM_VARS"] = "yes", ["MODE"] = "prod", ["NOT_SET"] = null });
        web.Ports.Should().Equal(
            new ComposePort(80, "tcp", "", ""),
            new ComposePort(80, "tcp", "", "8080"),
            new ComposePort(443, "tcp", "127.0.0.1", "8443"),
            new ComposePort(9000, "tcp", "127.0.0.1", ""),
            new ComposePort(53, "udp", "", "53"),
            new ComposePort(7000, "tcp", "", "9000"),
            new ComposePort(7001, "tcp", "", "9001"),
            new ComposePort(81, "tcp", "::1", "8081"),
            new ComposePort(82, "udp", "127.0.0.1", "8082"));
        web.Mounts.Should().Equal(
            new ComposeMount("volume", "data", "/data", false),
            new ComposeMount("bind", "/srv/config", "/etc/app", true),
            new ComposeMount("volume", null, "/anon", false),
            new ComposeMount("volume", "data", "/more", true, NoCopy: true),
            new ComposeMount("bind", "/srv/logs", "/logs", false),
            new ComposeMount("tmpfs", null, "/scratch", false, TmpfsSize: 64 * 1024 * 1024));
        web.Networks.Keys.Should().Equal("back", "front");
        web.Networks["front"].Should().Equal("www", "shop-web");
        web.Labels.Should().Equal(new Dictionary<string, string> { ["com.example.tier"] = "frontend" });
        web.DependsOn.Select(d => (d.Key, d.Value.Condition)).Should().Equal(("cache", "service_started"), ("db", "service_healthy"));
        web.Healthcheck!.Test.Should().Equal("CMD-SHELL", "wget -q -O- http://localhost/");
        web.Healthcheck.Interval.Should().Be(TimeSpan.FromSeconds(90));
        web.Healthcheck.Timeout.Should().Be(TimeSpan.FromMilliseconds(500));
        web.Healthcheck.Retries.Should().Be(3);
        web.Healthcheck.StartPeriod.Should().Be(TimeSpan.FromSeconds(10));
        web.WorkingDir.Should().Be("/app");
        web.User.Should().Be("1000:1000");
        web.Hostname.Should().Be("web1");
        web.StopSignal.Should().Be("SIGINT");
        web.StopGracePeriod.Should().Be(TimeSpan.FromMinutes(1));
        web.MemoryLimit.Should().Be(512L * 1024 * 1024);
        web.NanoCpus.Should().Be(500_000_000);
        web.Privileged.Should().BeTrue();
        web.CapAdd.Should().Equal("NET_ADMIN");
        web.CapDrop.Should().Equal("MKNOD");
        web.ExtraHosts.Should().Equal("host.one:10.0.0.1", "host.two:10.0.0.2");
        web.LoggingDriver.Should().Be("json-file");
        web.LoggingOptions.Should().Equal(new Dictionary<string, string> { ["max-size"] = "10m" });

        var db = project.FindService("db")!;
        db.Environment.Should().Equal(new Dictionary<string, string?> { ["EMPTY"] = null, ["POSTGRES_PASSWORD"] = "$ecret" });
        db.Labels.Should().Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "" });
        db.Healthcheck!.Test.Should().Equal("CMD", "pg_isready");
        db.Restart.Should().Be("on-failure:3");
        db.EffectiveNetworks.Should().Equal("back");

        var cache = project.FindService("cache")!;
        cache.Healthcheck!.Test.Should().Equal("NONE");
        cache.ExtraHosts.Should().Equal("db.local:10.0.0.3");
        cache.EffectiveNetworks.Should().Equal("default");

        project.Networks.Keys.Should().Equal("back", "front", "outside");
        project.Networks["front"].Driver.Should().Be("bridge");
        project.Networks["front"].Labels.Should().ContainKey("com.example.net");
        project.Networks["back"].CustomName.Should().Be("shared-back");
        project.Networks["outside"].External.Should().BeTrue();
        project.Volumes["data"].Labels.Should().ContainKey("com.example.vol");
        project.Volumes["legacy"].External.Should().BeTrue();
        project.Volumes["legacy"].CustomName.Should().Be("old-volume");

        var names = StackNames.For("shop", project);
        names.Networks["default"].Should().Be("shop_default");
        names.Networks["front"].Should().Be("shop_front");
        names.Networks["back"].Should().Be("shared-back");
        names.Networks["outside"].Should().Be("outside");
        names.Volumes["data"].Should().Be("shop_data");
        names.Volumes["legacy"].Should().Be("old-volume");
    }

    [Fact]
    public void StartOrderPutsDependenciesFirst()
    {
        var project = Parse("""
            services:
              web: { image: a, depends_on: [api] }
              api: { image: a, depends_on: { db: { condition: service_healthy } } }
              worker: { image: a }
              db: { image: a }
            """);

        ComposeParser.StartOrder(project).Select(s => s.Name).Should().Equal("db", "api", "web", "worker");
    }

    [Fact]
    public void InvalidYamlIsReportedWithItsLine()
    {
        var errors = Errors("services:\n  web:\n    image: a\n   bad: [\n");
        errors.Should().ContainSingle().Which.Line.Should().BeInRange(3, 5);
        errors[0].Message.Should().StartWith("invalid YAML");
    }

    [Fact]
    public void UnsupportedKeysAreNamedWithTheirLine()
    {
        var errors = Errors("""
            services:
              web:
                image: a
                build: .
                deploy:
                  replicas: 3
            secrets:
              s: { file: x }
            """);

        errors.Select(e => (e.Line, e.Message.Split(' ')[2])).Should().BeEquivalentTo(new[]
        {
            (4, "'services.web.build'"),
            (6, "'services.web.deploy.replicas'"),
            (7, "'secrets'"),
        });
        errors.Should().OnlyContain(e => e.Message.StartsWith("unsupported key", StringComparison.Ordinal));
    }

    [Fact]
    public void AMissingRequiredVariableIsReportedWithItsLine()
    {
        var errors = Errors("""
            services:
              db:
                image: postgres
                environment:
                  PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD}
            """);

        errors.Should().ContainSingle();
        errors[0].Line.Should().Be(5);
        errors[0].Message.Should().Contain("required variable DB_PASSWORD is missing a value: set DB_PASSWORD");
        errors[0].ToString().Should().StartWith("line 5: ");
    }

    [Fact]
    public void SuppliedVariablesSatisfyRequiredOnes()
    {
        var project = Parse("services:\n  db:\n    image: ${IMAGE:?}\n", new() { ["IMAGE"] = "postgres:16" });
        project.Services[0].Image.Should().Be("postgres:16");
    }

    [Fact]
    public void CrossReferencesAreValidated()
    {
        var errors = Errors("""
            services:
              web:
                image: a
                depends_on: [ghost]
                networks: [nowhere]
                volumes: [undeclared:/data]
              nothing:
                command: ["true"]
            """);

        errors.Should().Contain(e => e.Line == 4 && e.Message.Contains("undefined service 'ghost'"));
        errors.Should().Contain(e => e.Line == 5 && e.Message.Contains("undefined network 'nowhere'"));
        errors.Should().Contain(e => e.Line == 6 && e.Message.Contains("undefined volume 'undeclared'"));
        errors.Should().Contain(e => e.Line == 7 && e.Message.Contains("service 'nothing' has no image"));
    }

    [Fact]
    public void DependencyCyclesAreErrors()
    {
        var errors = Errors("""
            services:
              a: { image: x, depends_on: [b] }
              b: { image: x, depends_on: [c] }
              c: { image: x, depends_on: [a] }
            """);

        errors.Should().ContainSingle().Which.Message.Should().Be("dependency cycle between services: a -> b -> c -> a");
        errors[0].Line.Should().Be(2);
    }

    [Theory]
    [InlineData("\"80:\"", "is not a port number")]
    [InlineData("\"abc\"", "is not a port number")]
    [InlineData("\"70000\"", "is not a port number")]
    [InlineData("\"1.2.3.4:5:6:7\"", "too many ':'")]
    [InlineData("\"80/xtp\"", "unknown protocol")]
    [InlineData("\"9000-9002:80-81\"", "differ in size")]
    [InlineData("\"90-80\"", "ends before it starts")]
    [InlineData("\":80:80\"", "host address is empty")]
    public void InvalidPortsAreErrorsWithTheirLine(string port, string message)
    {
        var errors = Errors($"services:\n  web:\n    image: a\n    ports:\n      - {port}\n");
        errors.Should().ContainSingle();
        errors[0].Line.Should().Be(5);
        errors[0].Message.Should().Contain(message);
    }

    [Theory]
    [InlineData("    restart: sometimes", 3, "restart")]
    [InlineData("    stop_grace_period: soon", 3, "duration")]
    [InlineData("    privileged: maybe", 3, "true or false")]
    [InlineData("    volumes: [\"./data:/data\"]", 3, "relative host paths")]
    [InlineData("    volumes: [\"data\"]", 3, "not absolute")]
    [InlineData("    volumes: [\"/a:/b:zz\"]", 3, "unsupported mode")]
    [InlineData("    deploy: { resources: { limits: { memory: lots } } }", 3, "size")]
    [InlineData("    deploy: { resources: { limits: { cpus: -1 } } }", 3, "positive number")]
    [InlineData("    healthcheck: { test: [\"RUN\", \"x\"] }", 3, "CMD, CMD-SHELL or NONE")]
    [InlineData("    depends_on: { other: { condition: service_ready } }", 3, "condition")]
    [InlineData("    command: \"echo 'unterminated\"", 3, "unterminated")]
    [InlineData("    image: [a, b]", 3, "single value")]
    [InlineData("    ports: { a: 1 }", 3, "must be a list")]
    public void InvalidValuesAreErrorsWithTheirLine(string line, int expectedLine, string message)
    {
        var errors = Errors($"services:\n  web:\n{line}\n    image: a\n  other:\n    image: b\n".Replace("    image: a\n", line.StartsWith("    image:", StringComparison.Ordinal) ? "" : "    image: a\n", StringComparison.Ordinal));
        errors.Should().Contain(e => e.Line == expectedLine && e.Message.Contains(message));
    }

    [Theory]
    [InlineData("")]
    [InlineData("services: {}")]
    [InlineData("- a\n- b")]
    [InlineData("services: [a]")]
    [InlineData("name: Bad_Name\nservices: { a: { image: x } }")]
    [InlineData("services: { \"-bad\": { image: x } }")]
    public void StructuralProblemsAreErrors(string yaml)
    {
        Errors(yaml).Should().NotBeEmpty();
    }

    [Fact]
    public void ErrorsAreAllCollectedAtOnce()
    {
        var errors = Errors("""
            services:
              web:
                image: ${IMG:?needed}
                ports: ["x"]
                links: [db]
            """);

        errors.Select(e => e.Line).Should().Equal(3, 4, 5);
    }

    [Fact]
    public void OversizedFilesAreRefused()
    {
        Errors(new string('#', ComposeParser.MaxYamlLength + 1)).Should().ContainSingle().Which.Message.Should().Contain("larger than");
    }

    // A compose file comes from the control plane: each of these used to crash the agent with a
    // stack overflow (which no catch can stop) or make it work for minutes and gigabytes.
    public static TheoryData<string, string> HostileStructures()
    {
        const string Service = "services:\n  a:\n    image: x\n    labels: ";
        var fanOut = new System.Text.StringBuilder("x-a:\n  a0: &a0 {image: x}\n");
        for (var i = 1; i <= 8; i++)
        {
            fanOut.Append($"  a{i}: &a{i} {{<<: [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]}}\n");
        }

        fanOut.Append("services:\n  s:\n    <<: *a8\n");
        return new()
        {
            { Service + new string('[', 300_000) + new string(']', 300_000) + "\n", "levels deep" },
            { Service + string.Concat(Enumerable.Repeat("{a: ", 100_000)) + "b" + new string('}', 100_000) + "\n", "levels deep" },
            { "services:\n  s: &s\n    image: x\n    <<: *s\n", "recursive alias" },
            { "services:\n  s:\n    image: x\n    labels: &l [a, *l]\n", "recursive alias" },
            { fanOut.ToString(), "through its aliases" },
        };
    }

    [Theory]
    [MemberData(nameof(HostileStructures))]
    public void HostileNestingAndAliasingAreRefusedBeforeTheyCostAnything(string yaml, string message)
    {
        Errors(yaml).Should().ContainSingle().Which.Message.Should().Contain(message);
    }

    [Fact]
    public void ModerateAliasingAndNestingStillParse()
    {
        var project = Parse("""
            x-base: &base
              image: x
              labels: {a: "1"}
            x-env: &env [A=1, B=2]
            services:
              one: { <<: *base, environment: *env }
              two: { <<: [*base], environment: *env, healthcheck: { test: [CMD, "true"] } }
            """);

        project.Services.Select(s => s.Labels["a"]).Should().Equal("1", "1");
        project.Services[1].Environment.Should().ContainKey("B");
    }

    [Fact]
    public void PublishedPortsAreBounded()
    {
        // Each line is one port range; 20,000 of them would have been 1.3 billion port objects.
        var yaml = "services:\n  a:\n    image: x\n    ports:\n" + string.Concat(Enumerable.Repeat("      - 1-65535\n", 3));

        Errors(yaml).Should().ContainSingle().Which.Message.Should().Contain("too many published ports");
        Parse("services:\n  a:\n    image: x\n    ports: [\"1-65535\", \"1-65535/udp\"]\n").Services[0].Ports.Should().HaveCount(131_070);
    }

    [Fact]
    public void InterpolationCannotBlowUpTheFile()
    {
        // 1 MiB of variable, referenced 64 times in one value that 32 services share: 2 G characters.
        var variables = new Dictionary<string, string> { ["A"] = new string('a', 1024 * 1024) };
        var yaml = "x-env: &env {X: " + string.Concat(Enumerable.Repeat("$A", 64)) + "}\nservices:\n"
            + string.Concat(Enumerable.Range(0, 32).Select(i => $"  s{i}: {{image: x, environment: *env}}\n"));

        Errors(yaml, variables).Should().ContainSingle().Which.Message.Should().Contain("exceed 16777216 characters");
    }

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("250ms", 250)]
    [InlineData("2h45m10s500ms", 9_910_500)]
    public void DurationsParse(string text, int milliseconds)
    {
        ComposeParser.TryParseDuration(text, out var duration).Should().BeTrue();
        duration.Should().Be(TimeSpan.FromMilliseconds(milliseconds));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("s")]
    [InlineData("1d")]
    [InlineData("-1s")]
    [InlineData("1s ")]
    public void InvalidDurationsDoNotParse(string text)
    {
        ComposeParser.TryParseDuration(text, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData("1024", 1024L)]
    [InlineData("1k", 1024L)]
    [InlineData("1kb", 1024L)]
    [InlineData("512M", 512L * 1024 * 1024)]
    [InlineData("1.5g", 3L * 512 * 1024 * 1024)]
    [InlineData("100b", 100L)]
    public void SizesParse(string text, long bytes)
    {
        ComposeParser.TryParseBytes(text, out var value).Should().BeTrue();
        value.Should().Be(bytes);
    }

    [Fact]
    public void ShellWordsFollowShellQuoting()
    {
        ShellWords.TrySplit("""sh -c 'echo $HOME' "a \"b\"" c\ d  """, out var words, out _).Should().BeTrue();
        words.Should().Equal("sh", "-c", "echo $HOME", "a \"b\"", "c d");
    }

    [Fact]
    public void TheConfigHashChangesOnlyWithTheConfiguration()
    {
        const string yaml = "services:\n  web:\n    image: a\n    environment: [\"X=${X}\"]\n  db:\n    image: b\n";
        string Hash(string x, string service = "web")
        {
            var project = Parse(yaml, new() { ["X"] = x });
            var names = StackNames.For("p", project);
            return StackConfigHash.Compute(project.FindService(service)!, "p", "sha256:1", names.Networks, names.Volumes);
        }

        Hash("1").Should().Be(Hash("1"));
        Hash("1").Should().NotBe(Hash("2"));
        Hash("1", "db").Should().Be(Hash("2", "db"));
    }
}
