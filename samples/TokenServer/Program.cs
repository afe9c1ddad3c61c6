// The server half of a browser app that streams to Decart: it keeps the API key (configuration "Decart:ApiKey" or
// DECART_API_KEY) and hands signed-in users short-lived client tokens at POST /api/realtime-token.
//   dotnet run --project samples/TokenServer
using Decart.Sdk;
using Decart.Sdk.AspNetCore;
using Decart.Sdk.Models;
using Microsoft.AspNetCore.Authentication;
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

if (app.Environment.IsDevelopment())
{
    // Development only: a way to be signed in (POST /dev/sign-in?user=ada&role=pro) to try the endpoint; a real app
    // has its own sign-in.
    app.MapPost("/dev/sign-in", async (HttpContext context, string user, string? role) =>
    {
        var claims = new List<System.Security.Claims.Claim> { new(System.Security.Claims.ClaimTypes.Name, user) };
        if (role is not null)
        {
            claims.Add(new(System.Security.Claims.ClaimTypes.Role, role));
        }

        var identity = new System.Security.Claims.ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new System.Security.Claims.ClaimsPrincipal(identity));
        return Results.NoContent();
    });
}

app.Run();

/// <summary>The app's entry point, named so tests can start it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
