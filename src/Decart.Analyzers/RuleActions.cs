using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Decart.Analyzers;

/// <summary>
/// Where a rule registers its actions. On its own (tests, or a rule used alone) they go straight into the compilation;
/// inside <see cref="DecartRules"/>, the analyzer the package ships, they are collected and registered once for all
/// every rule: one operation callback per operation (dispatching to the rules that asked for its kind) instead of one
/// per rule, one operation-block start and one type start. Roslyn's per-callback and per-analyzer cost is most of
/// what the rules cost a build (bench/README.md, "Analyzer cost").
/// </summary>
internal sealed class RuleActions
{
    private readonly CompilationStartAnalysisContext? _direct;
    private readonly Dictionary<OperationKind, List<Action<OperationAnalysisContext>>> _operations = [];
    private readonly List<Action<OperationBlockStartAnalysisContext>> _blockStarts = [];
    private readonly List<Action<SymbolStartAnalysisContext>> _typeStarts = [];

    private RuleActions(CompilationStartAnalysisContext? direct) => _direct = direct;

    /// <summary>Actions registered straight into the compilation.</summary>
    public static RuleActions Direct(CompilationStartAnalysisContext context) => new(context);

    /// <summary>Actions collected for one shared registration (<see cref="Attach"/>).</summary>
    public static RuleActions Shared() => new(null);

    /// <summary>Like <see cref="CompilationStartAnalysisContext.RegisterOperationAction(Action{OperationAnalysisContext}, OperationKind[])"/>.</summary>
    public void RegisterOperationAction(Action<OperationAnalysisContext> action, params OperationKind[] kinds)
    {
        if (_direct is { } direct)
        {
            direct.RegisterOperationAction(action, kinds);
            return;
        }

        foreach (var kind in kinds)
        {
            if (!_operations.TryGetValue(kind, out var list))
            {
                _operations[kind] = list = [];
            }

            list.Add(action);
        }
    }

    /// <summary>Like <see cref="CompilationStartAnalysisContext.RegisterOperationBlockStartAction"/>.</summary>
    public void RegisterOperationBlockStartAction(Action<OperationBlockStartAnalysisContext> action)
    {
        if (_direct is { } direct)
        {
            direct.RegisterOperationBlockStartAction(action);
        }
        else
        {
            _blockStarts.Add(action);
        }
    }

    /// <summary>Like <see cref="CompilationStartAnalysisContext.RegisterSymbolStartAction"/>, for named types (all the rules need).</summary>
    public void RegisterTypeStartAction(Action<SymbolStartAnalysisContext> action)
    {
        if (_direct is { } direct)
        {
            direct.RegisterSymbolStartAction(action, SymbolKind.NamedType);
        }
        else
        {
            _typeStarts.Add(action);
        }
    }

    /// <summary>Registers what was collected, once per kind of action.</summary>
    /// <param name="context">The compilation's start context.</param>
    public void Attach(CompilationStartAnalysisContext context)
    {
        if (_operations.Count > 0)
        {
            var table = _operations.ToDictionary(p => p.Key, p => p.Value.ToArray());
            context.RegisterOperationAction(
                c =>
                {
                    foreach (var action in table[c.Operation.Kind])
                    {
                        action(c);
                    }
                },
                table.Keys.ToImmutableArray());
        }

        if (_blockStarts.Count > 0)
        {
            var starts = _blockStarts.ToArray();
            context.RegisterOperationBlockStartAction(c =>
            {
                foreach (var action in starts)
                {
                    action(c);
                }
            });
        }

        if (_typeStarts.Count > 0)
        {
            var starts = _typeStarts.ToArray();
            context.RegisterSymbolStartAction(
                c =>
                {
                    foreach (var action in starts)
                    {
                        action(c);
                    }
                },
                SymbolKind.NamedType);
        }
    }
}
