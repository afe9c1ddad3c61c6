using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Decart.Sdk.AspNetCore;
using Decart.Sdk.Models;
using Decart.Simulator.Rest;
using Decart.Simulator.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decart.Sdk.Tests.AspNetCore;

/// <summary>
/// The token endpoint of samples/TokenServer (one line, <c>MapDecartClientTokens</c>), run in-process with
/// WebApplicationFactory against the simulator over real Kestrel: the simulator issues the tokens and then judges them.
/// Bad input tried: no user, a user the hook refuses, too many requests, a wrong server key, per-user options the
/// service would refuse, options invalid at start-up, GET instead of POST.
/// </summary>
public sealed class ClientTokenEndpointTests(DecartSimulatorFixture sim) : IClassFixture<DecartSimulatorFixture>
{
    /// <summary>samples/TokenServer as it is, with the simulator as Decart and a header scheme in place of its cookies.</summary>
    private sealed class App(DecartSimulatorFixture sim) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("Decart:ApiKey", sim.Simulator.DefaultApiKey);
            builder.UseSetting("Decart:BaseUrl", sim.Simulator.BaseUrl.ToString());
            builder.UseSetting("Decart:RealtimeBaseUrl", sim.Simulator.RealtimeBaseUrl.ToString());
            builder.ConfigureTestServices(s =>
            {
                s.AddAuthentication().AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.SchemeName, null);
                s.PostConfigure<AuthenticationOptions>(o =>
                {
                    o.DefaultAuthenticateScheme = HeaderAuthentication.SchemeName;
                    o.DefaultChallengeScheme = HeaderAuthentication.SchemeName;
                });
            });
        }
    }

    /// <summary>A user named by the X-Test-User header, with roles from X-Test-Roles; no header, no user.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "TestHeader";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue("X-Test-User", out var user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claims = new List<Claim> { new(ClaimTypes.Name, user.ToString()) };
            foreach (var role in Request.Headers["X-Test-Roles"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                claims.Add(new Claim(ClaimTypes.Role, role));
            }

            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
        }
    }

    /// <summary>An app of our own (not the sample) on TestServer, for hooks the sample does not set.</summary>
    private async Task<WebApplication> StartAppAsync(Action<ClientTokenEndpointOptions> configure, string? apiKey = null, List<string>? logs = null, HttpMessageHandler? upstream = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new ListLoggerProvider(logs));
        }

        builder.Services.AddDecartClient(o =>
        {
            o.ApiKey = apiKey ?? sim.Simulator.DefaultApiKey;
            o.BaseUrl = sim.Simulator.BaseUrl;
            o.RealtimeBaseUrl = sim.Simulator.RealtimeBaseUrl;
        });
        if (upstream is not null)
        {
            builder.Services.AddHttpClient(DecartServiceCollectionExtensions.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream);
        }

        builder.Services.AddAuthentication(HeaderAuthentication.SchemeName).AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.SchemeName, null);
        var web = builder.Build();
        web.UseAuthentication();
        web.MapDecartClientTokens("/api/realtime-token", configure);
        await web.StartAsync();
        return web;
    }

    private static HttpRequestMessage Post(string? user = null, string? roles = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/realtime-token");
        if (user is not null)
        {
            request.Headers.Add("X-Test-User", user);
        }

        if (roles is not null)
        {
            request.Headers.Add("X-Test-Roles", roles);
        }

        return request;
    }

    private static async Task<string?> ErrorOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();

    [Fact]
    public async Task A_signed_in_user_gets_a_short_lived_token_the_simulator_then_accepts_only_for_the_allowed_model()
    {
        await using var app = new App(sim);
        using var http = app.CreateClient();
        var before = DateTimeOffset.UtcNow;
        using var response = await http.SendAsync(Post("ada"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        string token = body.GetProperty("apiKey").GetString()!;
        Assert.StartsWith("ek_", token, StringComparison.Ordinal);
        Assert.NotEqual(sim.Simulator.DefaultApiKey, token);
        var expiresAt = body.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, before.AddSeconds(110), DateTimeOffset.UtcNow.AddSeconds(130));   // ExpiresIn = 120

        var issued = sim.Simulator.Tokens.Find(token);
        Assert.NotNull(issued);
        Assert.Equal([RealtimeModels.Lucy21.Name], issued.AllowedModels);
        Assert.Equal(TimeSpan.FromSeconds(600), issued.MaxSessionDuration);
        Assert.Equal(KeyRejection.None, sim.Simulator.Tokens.Check(token, RealtimeModels.Lucy21.Name, origin: null, enforceOrigin: false));
        Assert.Equal(KeyRejection.ModelNotAllowed, sim.Simulator.Tokens.Check(token, RealtimeModels.Lucy25.Name, origin: null, enforceOrigin: false));
    }

    [Fact]
    public async Task Per_user_options_come_from_ConfigureToken()
    {
        await using var app = new App(sim);
        using var http = app.CreateClient();
        using var response = await http.SendAsync(Post("grace", roles: "pro"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var issued = sim.Simulator.Tokens.Find(body.GetProperty("apiKey").GetString());
        Assert.NotNull(issued);
        Assert.Null(issued.AllowedModels);                                            // a pro user may use any model
        Assert.InRange(issued.ExpiresAt, DateTimeOffset.UtcNow.AddSeconds(580), DateTimeOffset.UtcNow.AddSeconds(620));
        Assert.Equal(KeyRejection.None, sim.Simulator.Tokens.Check(issued.Key, RealtimeModels.Lucy25.Name, origin: null, enforceOrigin: false));
    }

    [Fact]
    public async Task No_user_gets_401_and_nothing_is_asked_of_Decart()
    {
        await using var app = new App(sim);
        using var http = app.CreateClient();
        int issuedBefore = sim.Simulator.Tokens.Issued.Count;
        using var response = await http.SendAsync(Post());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHENTICATED", await ErrorOf(response));
        Assert.Equal(issuedBefore, sim.Simulator.Tokens.Issued.Count);

        using var get = await http.GetAsync(new Uri("/api/realtime-token", UriKind.Relative));   // only POST issues tokens
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
    }

    [Fact]
    public async Task The_authorization_and_rate_limit_hooks_refuse_with_403_and_429()
    {
        var counts = new ConcurrentDictionary<string, int>();
        await using var web = await StartAppAsync(o =>
        {
            o.Authorize = context => ValueTask.FromResult(context.User.Identity!.Name != "mallory");
            o.RateLimit = context => ValueTask.FromResult(counts.AddOrUpdate(context.User.Identity!.Name!, 1, (_, n) => n + 1) <= 2);
        });
        using var http = web.GetTestClient();

        using (var refused = await http.SendAsync(Post("mallory")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("FORBIDDEN", await ErrorOf(refused));
        }

        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 4; i++)
        {
            using var response = await http.SendAsync(Post("bob"));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        using var other = await http.SendAsync(Post("carol"));                          // the limit is per user
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task A_wrong_server_key_answers_502_with_Decarts_code_and_the_key_is_in_no_answer_or_log_line()
    {
        const string wrongKey = "sk_live_this-key-must-never-leak-0123456789";
        var logs = new List<string>();
        await using var web = await StartAppAsync(o => { }, apiKey: wrongKey, logs: logs);
        using var http = web.GetTestClient();
        using var response = await http.SendAsync(Post("ada"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal("INVALID_API_KEY", JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain(wrongKey, text, StringComparison.Ordinal);
        Assert.Contains(logs, l => l.Contains("INVALID_API_KEY", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains(wrongKey, StringComparison.Ordinal) || l.Contains("this-key-must-never-leak", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Per_user_options_the_service_would_refuse_answer_500_INVALID_INPUT_and_reach_no_one()
    {
        int issuedBefore = sim.Simulator.Tokens.Issued.Count;
        await using var web = await StartAppAsync(o => o.ConfigureToken = (_, token) => ValueTask.FromResult(token with { ExpiresIn = 99_999 }));
        using var http = web.GetTestClient();
        using var response = await http.SendAsync(Post("ada"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("INVALID_INPUT", await ErrorOf(response));
        Assert.Equal(issuedBefore, sim.Simulator.Tokens.Issued.Count);
    }

    /// <summary>Decart itself saying "too many requests" (an upstream condition the simulator has no fault for).</summary>
    private sealed class TooManyRequests : HttpMessageHandler
    {
        public int Calls { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("{\"error\":\"rate limited\"}") });
        }
    }

    [Fact]
    public async Task Decarts_own_rate_limit_reaches_the_browser_as_429_not_502()
    {
        var upstream = new TooManyRequests();
        await using var web = await StartAppAsync(o => { }, upstream: upstream);
        using var http = web.GetTestClient();
        using var response = await http.SendAsync(Post("ada"));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.True(upstream.Calls >= 1);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3601)]
    public void Options_invalid_at_start_up_fail_when_the_endpoint_is_mapped(int expiresIn)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddDecartClient(o => o.ApiKey = "k");
        using var web = builder.Build();
        var error = Assert.Throws<DecartException>(() => web.MapDecartClientTokens("/t", o => o.ExpiresIn = expiresIn));
        Assert.Equal(DecartErrorCode.InvalidInput, error.Code);
        Assert.Contains("expiresIn", error.Message, StringComparison.Ordinal);
    }
}
