BBBBBBB BBBBBBBBBBBBBBB BBBB
BBBBB BBBBB gettext(u'Your message preferences') BBBBBBBB
BBBBB BBBBBBB
XXXXXXXX XXXXXXXXXXXX XXXXXXXXXXXXXXXXX
  BB BBBBBBB
    XXXX gettext(u'This link is not valid') XXXXX
    XXX gettext(u'It may have been copied incompletely. Please use the link from your latest message.') XXXX
  BBBB
    XXXX gettext(u'New products and promotions') XXXXX
    BB BBBBBB
      XXX gettext(u'You hear from us when new products arrive or a promotion starts.') XXXX
      XXXXX XXXXXXXXXXXXXXBBBBBBBBBBXXXXXXX XXXXXXXXXXXXX XXXXXXXXXXXXX XXXXXXXXXXX gettext(u'Stop these notices') XXXXXXXXXXXXXXXX
    BBBB
      XXX gettext(u'You do not get notices of new products and promotions.') XXXX
      XXXXX XXXXXXXXXXXXXXBBBBBBBBBBXXXXXXX XXXXXXXXXXXXX XXXXXXXXXXXXX XXXXXXXXXXX XXXXXXXXXXXXXXXX gettext(u'Tell me about new products and promotions') XXXXXXXXXXXXXXXX
    BBBBB
    BB BBBBBBBXX XXXXXXXXXXXXXXXXXXX XXXXXXXXXXXXXXXX gettext(u'Saved. Thank you!') XXXXXXXXXXXBBBBB
    XX XXXXXXXXXXXXXX gettext(u'Messages about your orders and after-sales service are not affected.') XXXX
  BBBBB
XXXXXXXXXX
BBBBBBBB
