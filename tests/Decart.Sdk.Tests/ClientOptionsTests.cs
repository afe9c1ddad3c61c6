using Decart.Sdk.Http;
using Decart.Sdk.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decart.Sdk.Tests;

[Collection("environment")] // these tests change DECART_API_KEY
public class ClientOptionsTests
{
    [Fact]
    public void Missing_key_is_INVALID_API_KEY()
    {
        var saved = Environment.GetEnvironmentVariable("DECART_API_KEY");
        try
        {
            Environment.SetEnvironmentVariable("DECART_API_KEY", null);
            Assert.Equal(DecartErrorCode.InvalidApiKey, Assert.Throws<DecartException>(() => new DecartClient(new DecartClientOptions())).Code);
            Assert.Equal(DecartErrorCode.InvalidApiKey, Assert.Throws<DecartException>(() => new DecartClient(new DecartClientOptions { ApiKey = "   " })).Code);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DECART_API_KEY", saved);
        }
    }

    [Fact]
    public void Key_falls_back_to_the_environment()
    {
        var saved = Environment.GetEnvironmentVariable("DECART_API_KEY");
        try
        {
            Environment.SetEnvironmentVariable("DECART_API_KEY", "sk_from_env_123456");
            using var client = new DecartClient(new DecartClientOptions());
            Assert.Equal("sk_from_env_123456", client.ApiKey);
            Assert.DoesNotContain("sk_from_env_123456", client.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DECART_API_KEY", saved);
        }
    }

    [Theory]
    [InlineData("ftp://api.decart.ai", null)]
    [InlineData("wss://api.decart.ai", null)]
    [InlineData("https://api.decart.ai?api_key=x", null)]
    [InlineData(null, "ftp://api3.decart.ai")]
    public void Unusable_urls_are_INVALID_BASE_URL(string? baseUrl, string? realtimeUrl)
    {
        var options = new DecartClientOptions { ApiKey = "k_123456" };
        if (baseUrl is not null)
        {
            options.BaseUrl = new Uri(baseUrl);
        }

        if (realtimeUrl is not null)
        {
            options.RealtimeBaseUrl = new Uri(realtimeUrl);
        }

        Assert.Equal(DecartErrorCode.InvalidBaseUrl, Assert.Throws<DecartException>(() => new DecartClient(options)).Code);
    }

    [Fact]
    public void Relative_url_is_INVALID_BASE_URL()
    {
        Assert.Equal(DecartErrorCode.InvalidBaseUrl, Assert.Throws<DecartException>(() => new DecartClient(new DecartClientOptions { ApiKey = "k_123456", BaseUrl = new Uri("/v1", UriKind.Relative) })).Code);
    }

    [Fact]
    public void Defaults_are_the_protocols()
    {
        using var client = new DecartClient(new DecartClientOptions { ApiKey = "k_123456" });
        Assert.Equal(new Uri("https://api.decart.ai"), client.BaseUrl);
        Assert.Equal(new Uri("wss://api3.decart.ai"), client.RealtimeBaseUrl);
    }

    [Fact]
    public void Options_ToString_hides_the_key()
    {
        var options = new DecartClientOptions { ApiKey = "sk_hidden_key_0001" };
        Assert.DoesNotContain("sk_hidden_key_0001", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("***", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AddDecartClient_binds_options_from_configuration()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Decart:ApiKey"] = "sk_from_config_1",
            ["Decart:BaseUrl"] = "http://127.0.0.1:7777",
            ["Decart:RealtimeBaseUrl"] = "ws://127.0.0.1:7777",
            ["Decart:Integration"] = "my-app/2.0",
            ["Decart:Timeout"] = "00:00:42",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddDecartClient(config.GetSection("Decart"));
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<DecartClient>();
        Assert.Equal(new Uri("http://127.0.0.1:7777"), client.BaseUrl);
        Assert.Equal(new Uri("ws://127.0.0.1:7777"), client.RealtimeBaseUrl);
        Assert.Equal("my-app/2.0", client.Integration);
        Assert.Same(client, provider.GetRequiredService<DecartClient>());
    }

    [Fact]
    public void AddDecartClient_with_a_delegate()
    {
        using var provider = new ServiceCollection().AddDecartClient(o => { o.ApiKey = "sk_delegate_1"; o.BaseUrl = new Uri("http://localhost:1"); }).BuildServiceProvider();
        Assert.Equal(new Uri("http://localhost:1"), provider.GetRequiredService<DecartClient>().BaseUrl);
    }

    [Fact]
    public async Task Logs_never_contain_the_key_even_when_the_server_echoes_it()
    {
        const string key = "sk_logged_key_7777";
        var lines = new List<string>();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new ListLoggerProvider(lines)));
        using var server = WireMock.Server.WireMockServer.Start();
        server.Given(WireMock.RequestBuilders.Request.Create().UsingAnyMethod()).RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(500).WithBody($"bad key {key}, X-API-KEY: {key}"));
        using var client = new DecartClient(new DecartClientOptions { ApiKey = key, BaseUrl = new Uri(server.Url!) }, loggerFactory: factory);
        var ex = await Assert.ThrowsAsync<DecartException>(() => client.Tokens.CreateAsync());
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.DoesNotContain(key, l, StringComparison.Ordinal));
        Assert.DoesNotContain(key, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(key, ex.ServerMessage!, StringComparison.Ordinal);
    }
}

[CollectionDefinition("environment", DisableParallelization = true)]
public class EnvironmentCollection;

public class ModelCatalogTests
{
    [Theory]
    [InlineData("lucy-2.1", 30, 1088, 624)]
    [InlineData("lucy-2.5", 30, 1280, 720)]
    [InlineData("lucy-restyle-2", 30, 1280, 704)]
    [InlineData("lucy-latest", 30, 1088, 624)]
    [InlineData("lucy-vton-latest", 30, 1280, 720)]
    [InlineData("lucy-vton-3.5", 30, 1280, 720)]
    [InlineData("lucy-restyle-latest", 30, 1280, 704)]
    [InlineData("mirage", 25, 1280, 704)]
    [InlineData("mirage_v2", 22, 1280, 704)]
    [InlineData("lucy_2_rt", 20, 1280, 720)]
    [InlineData("live_avatar", 25, 1280, 720)]
    public void Realtime_models_have_the_protocols_fps_and_size(string name, int fps, int width, int height)
    {
        var model = DecartModels.Realtime(name);
        Assert.Equal((name, "/v1/stream", fps, width, height), (model.Name, model.UrlPath, model.Fps, model.Width, model.Height));
        Assert.True(model.MaxFps >= model.Fps);
    }

    [Fact]
    public void Every_catalog_entry_is_found_by_name_and_valid()
    {
        Assert.Equal(15, RealtimeModels.All.Count);
        Assert.All(RealtimeModels.All, m => { Assert.Same(m, DecartModels.Realtime(m.Name)); m.Validate(); });
        Assert.All(ImageModels.All, m => { Assert.Same(m, DecartModels.Image(m.Name)); Assert.Equal($"/v1/generate/{m.Name}", m.UrlPath); Assert.Equal($"/v1/jobs/{m.Name}", m.QueueUrlPath); });
        Assert.All(VideoModels.All, m => { Assert.Same(m, DecartModels.Video(m.Name)); Assert.Equal($"/v1/jobs/{m.Name}", m.UrlPath); });
        Assert.Equal((20, 1088, 624), (VideoModels.Lucy21.Fps, VideoModels.Lucy21.Width, VideoModels.Lucy21.Height));
    }

    [Theory]
    [InlineData("lucy-9000")]
    [InlineData("")]
    [InlineData("LUCY-2.1")]
    public void Unknown_names_are_MODEL_NOT_FOUND(string name)
    {
        Assert.Equal(DecartErrorCode.ModelNotFound, Assert.Throws<DecartException>(() => DecartModels.Realtime(name)).Code);
        Assert.Equal(DecartErrorCode.ModelNotFound, Assert.Throws<DecartException>(() => DecartModels.Image(name)).Code);
        Assert.Equal(DecartErrorCode.ModelNotFound, Assert.Throws<DecartException>(() => DecartModels.Video(name)).Code);
    }

    [Fact]
    public void Custom_definitions_are_allowed_and_validated()
    {
        var custom = new RealtimeModel("lucy-custom", 24, 30, 640, 480);
        custom.Validate();
        Assert.Equal("/v1/stream", custom.UrlPath);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new RealtimeModel("x", 30, 20, 640, 480).Validate()).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new RealtimeModel("", 30, 30, 640, 480).Validate()).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new RealtimeModel("x", 30, 30, 0, 480).Validate()).Code);
    }
}

/// <summary>The SDK's catalog against Decart's JS SDK 0.1.20 and the simulator's.</summary>
public class CatalogConsistencyTests
{
    [Fact]
    public void Every_sdk_model_is_served_by_the_simulator_at_the_same_size_and_fps()
    {
        var sim = new Decart.Simulator.Constraints.ModelCatalog();
        foreach (var m in RealtimeModels.All)
        {
            var served = sim.Find(Decart.Simulator.Constraints.ModelKind.Realtime, m.Name);
            Assert.True(served is not null, $"the simulator does not serve realtime {m.Name}");
            Assert.Equal((m.Name, m.Fps, m.Width, m.Height), (m.Name, served!.Fps, served.Width, served.Height));
        }

        foreach (var m in VideoModels.All)
        {
            var served = sim.Find(Decart.Simulator.Constraints.ModelKind.Video, m.Name);
            Assert.True(served is not null, $"the simulator does not serve video {m.Name}");
            Assert.Equal((m.Name, m.Width, m.Height), (m.Name, served!.Width, served.Height));
        }

        foreach (var m in ImageModels.All)
        {
            Assert.NotNull(sim.Find(Decart.Simulator.Constraints.ModelKind.Image, m.Name));
        }
    }

    [Fact]
    public void The_JS_SDK_0_1_20_names_are_current_and_the_retired_and_aliased_ones_say_what_to_use()
    {
        // JS 0.1.20's canonical lists (realtime, video, image) have no deprecation note.
        foreach (var name in new[] { "lucy-2.1", "lucy-2.5", "lucy-vton-2", "lucy-vton-3", "lucy-vton-3.5", "lucy-restyle-2", "lucy-latest", "lucy-vton-latest", "lucy-restyle-latest" })
        {
            Assert.Null(DecartModels.Realtime(name).Deprecation);
        }

        foreach (var name in new[] { "lucy-clip", "lucy-2.1", "lucy-2.5", "lucy-vton-2", "lucy-vton-3", "lucy-vton-3.5", "lucy-restyle-2", "lucy-latest", "lucy-vton-latest", "lucy-restyle-latest", "lucy-clip-latest" })
        {
            Assert.Null(DecartModels.Video(name).Deprecation);
        }

        Assert.Equal((20, 1280, 720), (DecartModels.Video("lucy-vton-3.5").Fps, DecartModels.Video("lucy-vton-3.5").Width, DecartModels.Video("lucy-vton-3.5").Height));
        Assert.Contains("use lucy-vton-2", DecartModels.Realtime("lucy-2.1-vton-2").Deprecation, StringComparison.Ordinal);
        Assert.Contains("use lucy-clip", DecartModels.Video("lucy-pro-v2v").Deprecation, StringComparison.Ordinal);
        Assert.Contains("use lucy-restyle-2", DecartModels.Video("lucy-restyle-v2v").Deprecation, StringComparison.Ordinal);
        Assert.Contains("use lucy-image-2", DecartModels.Image("lucy-pro-i2i").Deprecation, StringComparison.Ordinal);
        foreach (var retired in new[] { "mirage", "mirage_v2", "lucy_v2v_720p_rt", "lucy_2_rt", "live_avatar" })
        {
            Assert.StartsWith("retired by Decart on 2026-", DecartModels.Realtime(retired).Deprecation, StringComparison.Ordinal);
        }

        foreach (var retired in new[] { "lucy-fast-v2v", "lucy-pro-t2v", "lucy-pro-i2v", "lucy-motion" })
        {
            Assert.StartsWith("retired by Decart on 2026-", DecartModels.Video(retired).Deprecation, StringComparison.Ordinal);
        }

        // The compile-time side: the retired properties carry [Obsolete] naming the date and the replacement.
        var attribute = typeof(RealtimeModels).GetProperty("LiveAvatar")!.GetCustomAttributes(typeof(ObsoleteAttribute), false).Cast<ObsoleteAttribute>().Single();
        Assert.Contains("2026-05-10", attribute.Message, StringComparison.Ordinal);
        Assert.Contains("Lucy21", attribute.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_to_a_retired_model_works_against_the_simulator_and_warns()
    {
        await using var sim = await Decart.Simulator.Hosting.DecartSimulator.StartAsync();
        using var client = new DecartClient(new DecartClientOptions { ApiKey = sim.DefaultApiKey, BaseUrl = sim.BaseUrl, RealtimeBaseUrl = sim.RealtimeBaseUrl });
        await using var source = await Decart.Sdk.Media.IvfFileSource.OpenAsync(Decart.Sdk.Tests.Realtime.RealtimeTestKit.Clip("pattern-1088x624-30fps.ivf"), fps: 30, loop: true);
        var warnings = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var rt = await client.Realtime.ConnectAsync(source, new Decart.Sdk.Realtime.RealtimeConnectOptions { Model = DecartModels.Realtime("live_avatar"), OnWarning = warnings.Enqueue });
        Assert.Contains(warnings, w => w.StartsWith("model live_avatar: retired by Decart on 2026-05-10; use lucy-2.1", StringComparison.Ordinal));
        Assert.Contains(rt.Warnings, w => w.Contains("retired", StringComparison.Ordinal));
    }
}
