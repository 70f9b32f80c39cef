//! The syntax tree produced by the parser, before names are resolved. Every node keeps the byte
//! span of its source text so the compiler can report `line L char C`.

use crate::message::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Mod,
    Coalesce,
    Add,
    Sub,
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    And,
    Or,
}

impl BinOp {
    /// Precedence tier: lower binds tighter (Bento's four passes).
    pub fn tier(self) -> u8 {
        match self {
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Coalesce => 1,
            BinOp::Add | BinOp::Sub => 2,
            BinOp::Eq | BinOp::Neq | BinOp::Gt | BinOp::Gte | BinOp::Lt | BinOp::Lte => 3,
            BinOp::And | BinOp::Or => 4,
        }
    }

    pub fn from_token(s: &str) -> Option<BinOp> {
        Some(match s {
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            "|" => BinOp::Coalesce,
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "==" => BinOp::Eq,
            "!=" => BinOp::Neq,
            ">" => BinOp::Gt,
            ">=" => BinOp::Gte,
            "<" => BinOp::Lt,
            "<=" => BinOp::Lte,
            "&&" => BinOp::And,
            "||" => BinOp::Or,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<String>,
    pub value: Ast,
}

#[derive(Clone, Debug)]
pub enum ObjKey {
    Static(String),
    Dynamic(Ast),
}

#[derive(Clone, Debug)]
pub enum Ast {
    Lit(Value, Span),
    /// A bare name or `this`/`root` at the start of a chain, e.g. `this`, `foo` (= `this.foo`),
    /// or a named lambda parameter.
    Ident(String, Span),
    /// `$name`.
    Var(String, Span),
    /// `@` (`None`) or `@key`.
    Meta(Option<String>, Span),
    Call {
        name: String,
        args: Vec<Arg>,
        span: Span,
    },
    Method {
        target: Box<Ast>,
        name: String,
        args: Vec<Arg>,
        span: Span,
    },
    Field {
        target: Box<Ast>,
        name: String,
        span: Span,
    },
    Capture {
        target: Box<Ast>,
        body: Box<Ast>,
        span: Span,
    },
    Index {
        target: Box<Ast>,
        index: Box<Ast>,
        span: Span,
    },
    Slice {
        target: Box<Ast>,
        parts: [Option<Box<Ast>>; 3],
        span: Span,
    },
    Lambda {
        param: String,
        body: Box<Ast>,
        span: Span,
    },
    Unary(UnOp, Box<Ast>, Span),
    Binary(BinOp, Box<Ast>, Box<Ast>, Span),
    If {
        branches: Vec<(Ast, Ast)>,
        otherwise: Option<Box<Ast>>,
        span: Span,
    },
    Match {
        subject: Option<Box<Ast>>,
        cases: Vec<(Option<Ast>, Ast)>,
        span: Span,
    },
    Array(Vec<Ast>, Span),
    Object(Vec<(ObjKey, Ast)>, Span),
}

impl Ast {
    pub fn span(&self) -> Span {
        match self {
            Ast::Lit(_, s)
            | Ast::Ident(_, s)
            | Ast::Var(_, s)
            | Ast::Meta(_, s)
            | Ast::Unary(_, _, s)
            | Ast::Binary(_, _, _, s)
            | Ast::Array(_, s)
            | Ast::Object(_, s) => *s,
            Ast::Call { span, .. }
            | Ast::Method { span, .. }
            | Ast::Field { span, .. }
            | Ast::Capture { span, .. }
            | Ast::Index { span, .. }
            | Ast::Slice { span, .. }
            | Ast::Lambda { span, .. }
            | Ast::If { span, .. }
            | Ast::Match { span, .. } => *span,
        }
    }
}

/// Where an assignment writes.
#[derive(Clone, Debug)]
pub enum Target {
    /// `root.a.b` (also `this.a.b` and bare `a.b`); empty path = the whole document.
    Root(Vec<String>),
    /// `meta key`/`@key`; `None` = the whole metadata object.
    Meta(Option<String>),
    Let(String),
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Assign {
        target: Target,
        value: Ast,
        span: Span,
    },
    If {
        branches: Vec<(Ast, Vec<Stmt>)>,
        otherwise: Option<Vec<Stmt>>,
        span: Span,
    },
    Map {
        name: String,
        body: Vec<Stmt>,
        span: Span,
    },
    Import {
        path: String,
        span: Span,
    },
    From {
        path: String,
        span: Span,
    },
}
