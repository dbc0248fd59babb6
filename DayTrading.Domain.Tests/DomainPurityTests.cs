using System.Reflection;
using DayTrading.Accounts;
using Xunit;

namespace DayTrading.Domain.Tests;

/// <summary>The domain stays plain C#: its assembly may reference the .NET libraries and nothing else.</summary>
public sealed class DomainPurityTests
{
    [Fact]
    public void The_domain_assembly_references_only_the_dotnet_libraries()
    {
        var domain = typeof(AccountDomain).Assembly;
        Assert.Equal("DayTrading.Domain", domain.GetName().Name);
        var references = domain.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.NotEmpty(references);
        Assert.All(references, name => Assert.True(
            name == "netstandard" || name == "mscorlib" || name.StartsWith("System", StringComparison.Ordinal) || name.StartsWith("Microsoft.", StringComparison.Ordinal) && !name.StartsWith("Microsoft.Extensions", StringComparison.Ordinal),
            $"the domain references {name}"));
        Assert.DoesNotContain(references, name => name.StartsWith("Akka", StringComparison.Ordinal));
    }

    [Fact]
    public void The_domain_project_has_no_package_references()
    {
        var project = FindUp("DayTrading.Domain/DayTrading.Domain.csproj");
        Assert.SkipWhen(project is null, "the source tree is not beside this build (DayTrading.Domain/DayTrading.Domain.csproj not found)");
        var text = File.ReadAllText(project!);
        Assert.DoesNotContain("PackageReference", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ProjectReference", text, StringComparison.Ordinal);
    }

    private static string? FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
