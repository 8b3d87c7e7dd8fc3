//! The shape of a portal page: the chrome around it (title, navigation, language switch, who is
//! signed in) and a list of sections, each made of the same few parts — notes, facts, a chart with
//! its data table, a table, forms and links. One template renders them all
//! (`templates/portal/page.html`), so every page gets the same labels, landmarks and keyboard order.

use askama::Template;

/// A link in the navigation or a section.
#[derive(Clone, Debug)]
pub struct Link {
    pub href: String,
    pub text: String,
    pub current: bool,
}

impl Link {
    pub fn new(href: impl Into<String>, text: impl Into<String>) -> Link {
        Link {
            href: href.into(),
            text: text.into(),
            current: false,
        }
    }
}

/// A paragraph; `kind` is `info`, `ok` or `error` (styled, and errors are announced).
#[derive(Clone, Debug)]
pub struct Note {
    pub kind: &'static str,
    pub text: String,
}

/// One cell of a table: text, optionally a link; `num` aligns figures right.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub num: bool,
    /// A short status word to style (`ok`, `bad`, `warn`), or empty.
    pub badge: &'static str,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            num: true,
            ..Cell::default()
        }
    }

    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            href: Some(href.into()),
            ..Cell::default()
        }
    }

    pub fn badge(mut self, badge: &'static str) -> Cell {
        self.badge = badge;
        self
    }
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A form field. `kind`: `text`, `password`, `number`, `date`, `file`, `select`, `textarea`,
/// `hidden`.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub required: bool,
    pub multiple: bool,
    pub autocomplete: &'static str,
    pub hint: String,
}

impl Field {
    pub fn new(kind: &'static str, name: &str, label: impl Into<String>) -> Field {
        Field {
            name: name.to_string(),
            label: label.into(),
            kind,
            value: String::new(),
            options: Vec::new(),
            required: false,
            multiple: false,
            autocomplete: "off",
            hint: String::new(),
        }
    }

    pub fn hidden(name: &str, value: impl Into<String>) -> Field {
        Field::new("hidden", name, "").value(value)
    }

    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        self
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn multiple(mut self) -> Field {
        self.multiple = true;
        self
    }

    pub fn autocomplete(mut self, token: &'static str) -> Field {
        self.autocomplete = token;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Field {
        self.hint = hint.into();
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Field {
        self.options = options;
        self
    }
}

/// A form. POST forms carry the CSRF token as a hidden field (added by the page builder).
#[derive(Clone, Debug)]
pub struct Form {
    pub action: String,
    pub method: &'static str,
    pub multipart: bool,
    pub title: String,
    pub fields: Vec<Field>,
    pub submit: String,
    /// A short id (for the form's accessible name and tests).
    pub id: String,
}

impl Form {
    pub fn post(id: &str, action: impl Into<String>, submit: impl Into<String>) -> Form {
        Form {
            action: action.into(),
            method: "post",
            multipart: false,
            title: String::new(),
            fields: Vec::new(),
            submit: submit.into(),
            id: id.to_string(),
        }
    }

    pub fn get(id: &str, action: impl Into<String>, submit: impl Into<String>) -> Form {
        Form {
            method: "get",
            ..Form::post(id, action, submit)
        }
    }

    pub fn field(mut self, field: Field) -> Form {
        self.fields.push(field);
        self
    }

    pub fn title(mut self, title: impl Into<String>) -> Form {
        self.title = title.into();
        self
    }

    pub fn multipart(mut self) -> Form {
        self.multipart = true;
        self
    }
}

/// A chart: the SVG (drawn by `chart.rs`, text escaped there) and the data table beside it.
#[derive(Clone, Debug)]
pub struct Chart {
    pub svg: String,
    pub table: Table,
}

/// One section of a page (`<section>` with a heading).
#[derive(Clone, Debug, Default)]
pub struct Section {
    pub id: String,
    pub heading: String,
    pub notes: Vec<Note>,
    pub facts: Vec<(String, String)>,
    pub charts: Vec<Chart>,
    pub table: Option<Table>,
    pub forms: Vec<Form>,
    pub links: Vec<Link>,
    /// Refreshed in place by `portal.js` (the live dashboard).
    pub live: bool,
}

impl Section {
    pub fn new(id: &str, heading: impl Into<String>) -> Section {
        Section {
            id: id.to_string(),
            heading: heading.into(),
            ..Section::default()
        }
    }

    pub fn note(mut self, kind: &'static str, text: impl Into<String>) -> Section {
        self.notes.push(Note {
            kind,
            text: text.into(),
        });
        self
    }

    pub fn fact(mut self, label: impl Into<String>, value: impl Into<String>) -> Section {
        self.facts.push((label.into(), value.into()));
        self
    }

    pub fn chart(mut self, chart: Chart) -> Section {
        self.charts.push(chart);
        self
    }

    pub fn table(mut self, table: Table) -> Section {
        self.table = Some(table);
        self
    }

    pub fn form(mut self, form: Form) -> Section {
        self.forms.push(form);
        self
    }

    pub fn link(mut self, href: impl Into<String>, text: impl Into<String>) -> Section {
        self.links.push(Link::new(href, text));
        self
    }

    pub fn live(mut self) -> Section {
        self.live = true;
        self
    }
}

/// What surrounds every page.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub lang: &'static str,
    pub title: String,
    pub site: &'static str,
    pub skip: &'static str,
    pub nav_label: &'static str,
    pub nav: Vec<Link>,
    pub switch: Link,
    pub switch_label: &'static str,
    pub switch_lang: &'static str,
    /// `username (role)` when signed in.
    pub user: Option<String>,
    pub user_label: &'static str,
    pub logout: &'static str,
    pub login: Option<Link>,
    pub csrf: String,
    pub footer: &'static str,
    pub css: &'static str,
    pub js: &'static str,
}

#[derive(Template)]
#[template(path = "portal/page.html")]
pub struct PageTemplate<'a> {
    pub chrome: &'a Chrome,
    pub sections: &'a [Section],
}
