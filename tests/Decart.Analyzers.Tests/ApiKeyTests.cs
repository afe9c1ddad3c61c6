using Decart.Analyzers.CodeFixes;
using Decart.Analyzers.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace Decart.Analyzers.Tests;

public class ApiKeyTests
{
    /// <summary>
    /// DECART002 watches <c>DecartClientOptions.ApiKey</c> only: it is the SDK's one way in for a permanent key. A
    /// public method or constructor with a key parameter, or another settable key property, would be a sink the rule
    /// does not see — this fails then, listing it. <c>ClientToken.ApiKey</c> is the short-lived token the server mints
    /// for a device (what the rule tells users to ship instead), not a sink.
    /// </summary>
    [Fact]
    public void No_public_SDK_member_but_DecartClientOptions_ApiKey_takes_a_key()
    {
        const System.Reflection.BindingFlags Members = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly;
        static bool Says(string? name) => name is not null && name.Contains("key", StringComparison.OrdinalIgnoreCase);
        var types = typeof(Decart.Sdk.DecartClient).Assembly.GetExportedTypes();
        var parameters = types
            .SelectMany(t => t.GetMethods(Members).Cast<System.Reflection.MethodBase>().Concat(t.GetConstructors()))
            .Where(m => !m.IsSpecialName || m is System.Reflection.ConstructorInfo)
            .Where(m => m.GetParameters().Any(p => Says(p.Name) && (p.ParameterType == typeof(string) || p.ParameterType == typeof(ReadOnlyMemory<char>) || p.ParameterType == typeof(char[]))))
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}")
            .ToList();
        var properties = types
            .SelectMany(t => t.GetProperties(Members))
            .Where(p => Says(p.Name) && p.PropertyType == typeof(string) && p.SetMethod is { IsPublic: true })
            .Select(p => $"{p.DeclaringType!.FullName}.{p.Name}")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Empty(parameters); // a key parameter: teach DECART002 that sink, then list it here
        Assert.Equal(["Decart.Sdk.DecartClientOptions.ApiKey", "Decart.Sdk.Http.ClientToken.ApiKey"], properties);
    }

    /// <summary>
    /// The shipped analyzer finds the SDK by its assembly, not its file: referenced under another file name, or as an
    /// in-memory image with no file at all, a literal key is still flagged.
    /// </summary>
    [Fact]
    public async Task The_SDK_is_found_under_another_file_name_and_as_an_image()
    {
        const string Source = """
            using Decart.Sdk;

            public class App
            {
                public DecartClientOptions Options() => new() { ApiKey = {|#0:"sk_live_abcdef"|} };
            }
            """;
        var expected = new DiagnosticResult("DECART002", DiagnosticSeverity.Warning).WithLocation(0).WithArguments("DecartClientOptions.ApiKey", string.Empty);
        string sdk = typeof(Decart.Sdk.DecartClient).Assembly.Location;
        var dir = Directory.CreateTempSubdirectory("decart-renamed-sdk");
        try
        {
            string renamed = Path.Combine(dir.FullName, "VendorSdk-1.4.dll");
            File.Copy(sdk, renamed);
            await Verify.WithReferencesAsync<DecartRules>(Source, [MetadataReference.CreateFromFile(renamed)], expected);
            await Verify.WithReferencesAsync<DecartRules>(Source, [MetadataReference.CreateFromImage(File.ReadAllBytes(sdk))], expected);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public Task Literal_keys_are_flagged_through_every_flow() => Verify.AnalyzerAsync<RawApiKeyAnalyzer>("""
        public class Keys
        {
            private const string Key = "sk_live_abcdef";
            private const string Prefix = "sk_live_";

            public void Literal() => _ = new DecartClientOptions { ApiKey = {|DECART002:"sk_live_abcdef"|} };

            public void ViaConst() => _ = new DecartClientOptions { ApiKey = {|DECART002:Key|} };

            public void Concatenated() => _ = new DecartClientOptions { ApiKey = {|DECART002:Prefix + "abcdef"|} };

            public void Interpolated() => _ = new DecartClientOptions { ApiKey = {|DECART002:$"{Prefix}abcdef"|} };

            public void ViaLocal()
            {
                var key = "sk_live_abcdef";
                _ = new DecartClientOptions { ApiKey = {|DECART002:key|} };
            }

            public void Assigned()
            {
                var options = new DecartClientOptions();
                options.ApiKey = {|DECART002:"sk_live_abcdef"|};
            }
        }
        """);

    [Fact]
    public Task The_syntactic_gate_passes_code_that_names_ApiKey_and_only_that() => Verify.AnalyzerAsync<RawApiKeyAnalyzer>("""
        public class Keys
        {
            // A helper that only names the property: still looked into.
            public static void Configure(DecartClientOptions options) => options.ApiKey = {|DECART002:"sk_live_abcdef"|};

            // ApiKey in a string and a comment, no SDK code: the gate keeps the rule out (and there is nothing to find).
            public string Help() => "set ApiKey = sk_live_... in your options";
        }
        """);

    [Fact]
    public Task Keys_from_configuration_or_a_reassigned_local_are_fine() => Verify.AnalyzerAsync<RawApiKeyAnalyzer>("""
        public class Keys
        {
            public void Environment() => _ = new DecartClientOptions { ApiKey = System.Environment.GetEnvironmentVariable("DECART_API_KEY") };

            public void Parameter(string key) => _ = new DecartClientOptions { ApiKey = key };

            public void Reassigned(Func<string> read)
            {
                var key = "placeholder";
                key = read();
                _ = new DecartClientOptions { ApiKey = key };
            }

            public void Empty() => _ = new DecartClientOptions { ApiKey = "" };

            public void Null() => _ = new DecartClientOptions { ApiKey = null };
        }
        """);

    [Theory]
    [InlineData("build_property.TargetPlatformIdentifier = browser")]
    [InlineData("build_property.UseMaui = true")]
    [InlineData("build_property.DecartClientSide = true")]
    public Task On_the_users_device_a_literal_key_is_an_error(string property) => Verify.AnalyzerWithConfigAsync<RawApiKeyAnalyzer>(
        """
        public class Keys
        {
            public void Literal() => _ = new DecartClientOptions { ApiKey = {|#0:"sk_live_abcdef"|} };
        }
        """,
        "is_global = true\n" + property + "\n",
        new DiagnosticResult("DECART002", DiagnosticSeverity.Error).WithLocation(0).WithArguments("DecartClientOptions.ApiKey", "; this project runs on the user's device, where a permanent key must never ship: have your server mint a short-lived client token (client.Tokens.CreateAsync) and use that"));

    [Fact]
    public Task The_fix_reads_the_key_from_the_environment() => Verify.FixAsync<RawApiKeyAnalyzer, KeyFromEnvironmentFix>(
        """
        public class Keys
        {
            public DecartClientOptions A() => new() { ApiKey = {|DECART002:"sk_live_a"|} };

            public DecartClientOptions B() => new() { ApiKey = {|DECART002:"sk_live_" + "b"|} };
        }
        """,
        """
        public class Keys
        {
            public DecartClientOptions A() => new() { ApiKey = Environment.GetEnvironmentVariable("DECART_API_KEY") };

            public DecartClientOptions B() => new() { ApiKey = Environment.GetEnvironmentVariable("DECART_API_KEY") };
        }
        """);

    /// <summary>
    /// Bad input: a reference named Decart.Sdk.dll that is not the SDK (none of its types). The shipped analyzer sees
    /// the name at compilation start, finds no SDK types on the first operation it looks at, and reports nothing —
    /// no exception (the test fails on an AD0001), no diagnostic.
    /// </summary>
    [Fact]
    public async Task A_reference_named_like_the_SDK_without_its_types_is_ignored()
    {
        var dir = Directory.CreateTempSubdirectory("decart-fake-sdk");
        try
        {
            var fake = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create(
                "Decart.Sdk",
                [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("namespace Decart.Sdk { public class DecartClientOptions { public string? ApiKey { get; set; } } public class Other { public void ConnectAsync() { } } }")],
                [MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
                new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            var path = Path.Combine(dir.FullName, "Decart.Sdk.dll");
            var emitted = fake.Emit(path);
            Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));

            await Verify.WithoutSdkAsync<DecartRules>(
                """
                using Decart.Sdk;

                public class App
                {
                    public void Run(Other other)
                    {
                        _ = new DecartClientOptions { ApiKey = "sk_live_abcdef" };
                        other.ConnectAsync();
                    }
                }
                """,
                MetadataReference.CreateFromFile(path));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public Task Nothing_is_reported_without_the_SDK() => Verify.WithoutSdkAsync<RawApiKeyAnalyzer>("""
        public class DecartClientOptions { public string? ApiKey { get; set; } }
        public class C { public object M() => new DecartClientOptions { ApiKey = "sk_live_abcdef" }; }
        """);
}
