// The server half of a browser app that streams to Decart: it keeps the API key (configuration "Decart:ApiKey" or
// DECART_API_KEY) and hands signed-in users short-lived client tokens at POST /api/realtime-token.
//   dotnet run --project samples/TokenServer
using Decart.Sdk;
using Decart.Sdk.AspNetCore;
using Decart.Sdk.Models;
using Microsoft.AspNetCore.Authentication.Cookies;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddDecartClient(builder.Configuration.GetSection("Decart"));
builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

app.MapDecartClientTokens("/api/realtime-token", o =>
{
    o.AllowedModels = [RealtimeModels.Lucy21.Name];
    o.ExpiresIn = 120;
    o.MaxSessionDuration = 600;
    // A "pro" user's token lives longer and may use every model; everyone else gets the defaults above.
    o.ConfigureToken = (context, token) => ValueTask.FromResult(
        context.User.IsInRole("pro") ? token with { ExpiresIn = 600, AllowedModels = null } : token);
});

app.Run();

/// <summary>The app's entry point, named so tests can start it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
